"""``xmtp-keys``: the command line of the XMTP Key Companion.

Offline commands for now::

    xmtp-keys inspect FILE|-
    xmtp-keys decrypt-bundle WALLET FILE|-
    xmtp-keys generate WALLET [--out FILE]

WALLET is one of ``--wallet-key-file F``, ``--keyfile F [--password-file P]``,
``--rpc-wallet URL [--account ADDR]`` or ``--walletconnect`` (see ``app.cli.signers``).

Global options go before the command (``xmtp-keys --json inspect …``); ``--json`` is also
accepted after it.  Every command is one ``_command`` function registered in ``build_parser``.
Bad input of any kind ends with exit code 2 and one line ``xmtp-keys: error: …`` on stderr,
never a traceback.  Private keys are printed only by ``generate --json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from app.cli import online
from app.cli.artefacts import describe_private_bundle, find_encrypted_bundle, identify
from app.cli.exit_codes import (
    EPILOG,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_for,
)
from app.cli.files import PRIVATE_FILE_MODE, check_new_file, write_private_file
from app.cli.inputs import decodings, read_input
from app.cli.output import PROG, CliError, Report, print_error, print_json
from app.cli.signers import add_signer_options, check_signer_options, open_signer
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import ContactBundle
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, decrypt_bundle, encrypt_bundle
from app.keyengine.errors import DecryptionFailed, KeyEngineError
from app.keyengine.prekeys import generate_identity
from app.keyengine.texts import SignatureRequest
from app.keyengine.wallets import WalletSigner

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors become one ``CliError`` line, not usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _version() -> str:
    try:
        return metadata.version("xmtp-key-companion")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- commands --------------------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    print_json(identify(decodings(read_input(args.file))))
    return EXIT_OK


def _decrypt_bundle(args: argparse.Namespace) -> int:
    check_signer_options(args)
    encrypted = find_encrypted_bundle(decodings(read_input(args.file)))

    async def unlock() -> tuple[PrivateKeyBundleV1, str]:
        async with open_signer(args) as signer:
            try:
                return await decrypt_bundle(encrypted, signer), signer.address
            except DecryptionFailed:
                raise CliError(
                    f"wallet {signer.address} cannot decrypt this bundle: it was encrypted by "
                    "another wallet, or it is damaged",
                    exit_code=EXIT_LOCKED,
                ) from None
            except KeyEngineError as exc:
                raise CliError(
                    f"the bundle decrypted but is not a valid private key bundle: {exc}"
                ) from None

    bundle, address = asyncio.run(unlock())
    report = describe_private_bundle(bundle)
    report["decrypted_with_wallet"] = address
    errors = report["errors"]
    assert isinstance(errors, list)  # noqa: S101 - built by describe_private_bundle
    wallet = report["wallet_address"]
    if wallet is not None and wallet != address:
        errors.append(
            f"the identity key is attested by {wallet}, not by the wallet that decrypted it"
        )
    print_json(report)
    return EXIT_OK


async def _create_identity(
    signer: WalletSigner, requests: list[SignatureRequest]
) -> tuple[PrivateKeyBundleV1, EncryptedPrivateKeyBundle]:
    def observe(request: SignatureRequest, address: str) -> None:
        del address
        requests.append(request)

    bundle = await generate_identity(signer, observe)
    encrypted = await encrypt_bundle(bundle, signer, observe)
    return bundle, encrypted


async def _create_identity_with(
    args: argparse.Namespace, requests: list[SignatureRequest]
) -> tuple[PrivateKeyBundleV1, EncryptedPrivateKeyBundle]:
    async with open_signer(args) as signer:
        return await _create_identity(signer, requests)


def _generate(args: argparse.Namespace) -> int:
    check_signer_options(args)
    out = None if args.out is None else Path(args.out)
    if out is not None:
        check_new_file(out)
    requests: list[SignatureRequest] = []
    bundle, encrypted = asyncio.run(_create_identity_with(args, requests))
    bundle.verify()
    identity_key = bundle.identity_key.public_key.point.hex()
    prekey = bundle.current_pre_key.public_key.point.hex()
    if out is not None:
        write_private_file(out, bundle.to_bytes())
    if not args.json:
        lines = [
            f"New XMTP identity for wallet {bundle.wallet_address}",
            f"  identity key  {identity_key}",
            f"  pre-key       {prekey}",
            "  signed with the wallet: " + ", ".join(r.purpose.value for r in requests),
        ]
        if out is not None:
            lines.append(f"Private key bundle written to {out} (mode {PRIVATE_FILE_MODE:04o}).")
        else:
            lines.append("The private key bundle was not kept: use --out FILE or --json.")
        sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK
    report: Report = {"wallet_address": bundle.wallet_address}
    report["identity_key"] = identity_key
    report["prekey"] = prekey
    if out is not None:
        report["private_key_bundle_file"] = str(out)
    else:
        report["private_key_bundle"] = _b64(bundle.to_bytes())
    report["encrypted_bundle"] = _b64(encrypted.to_bytes())
    report["contact_bundle_v1"] = _b64(ContactBundle.v1(bundle.public_key_bundle()).to_bytes())
    report["contact_bundle_v2"] = _b64(
        ContactBundle.v2(bundle.signed_public_key_bundle()).to_bytes()
    )
    report["signed_texts"] = [{"purpose": r.purpose.value, "text": r.text} for r in requests]
    print_json(report)
    return EXIT_OK


# --- parser ----------------------------------------------------------------------------------


def _add_json(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: when absent here, the global --json (before the command) keeps its value.
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Create, decrypt and inspect XMTP (pre-MLS) keys with your own wallet.",
        epilog=EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print JSON (machine-readable)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    online.add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    inspect = commands.add_parser(
        "inspect",
        help="decode any XMTP key artefact and check its signatures",
        description="Detect which XMTP artefact FILE holds (raw bytes, base64 or hex) and "
        "print its public keys, recovered wallet and signature checks as JSON. "
        "Private keys are never printed.",
    )
    inspect.add_argument("file", metavar="FILE|-", help="the artefact; - reads standard input")
    _add_json(inspect)
    inspect.set_defaults(handler=_inspect)

    decrypt = commands.add_parser(
        "decrypt-bundle",
        help="unlock an encrypted private key bundle with its wallet",
        description="Decrypt an EncryptedPrivateKeyBundle by re-signing its 'XMTP : Enable "
        "Identity' text with the wallet, and report the bundle as inspect does.",
    )
    add_signer_options(decrypt)
    decrypt.add_argument("file", metavar="FILE|-", help="the encrypted bundle; - reads stdin")
    _add_json(decrypt)
    decrypt.set_defaults(handler=_decrypt_bundle)

    generate = commands.add_parser(
        "generate",
        help="create a new identity offline",
        description="Create a new XMTP identity for the wallet (two wallet signatures: "
        "Create Identity, Enable Identity). With --json the private key bundle is printed; "
        "with --out it is written to a new 0600 file instead.",
    )
    add_signer_options(generate)
    generate.add_argument(
        "--out", metavar="FILE", help="write the private key bundle (raw bytes) to a new file"
    )
    _add_json(generate)
    generate.set_defaults(handler=_generate)
    online.add_commands(commands, _add_json, add_signer_options)
    return parser


def _os_error_message(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def main(argv: list[str] | None = None) -> int:
    """Run ``xmtp-keys`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        handler: Command = args.handler
        return handler(args)
    except CliError as exc:
        print_error(str(exc))
        return exc.exit_code
    except KeyEngineError as exc:
        print_error(str(exc))
        return exit_code_for(exc)
    except OSError as exc:
        print_error(_os_error_message(exc))
    except ValueError as exc:
        print_error(str(exc))
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        print_error(f"internal error ({type(exc).__name__}); please report it")
        return EXIT_INTERNAL
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
