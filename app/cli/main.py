"""``xmtp-keys``: the command line of the XMTP Key Companion.

Offline commands (here)::

    xmtp-keys inspect FILE|-
    xmtp-keys decrypt-bundle WALLET FILE|-
    xmtp-keys generate WALLET [--out FILE]

and the commands that talk to a node (``app.cli.online``: login, rotate-prekey, prekeys,
invites, lookup, export, import, node serve).  What an artefact is and whether it holds is the
engine's verdict (``app.keyengine.artefacts``); ``app.cli.artefacts`` formats it as JSON and
``app.cli.artefact_text`` as text for a person (the output without ``--json``).

WALLET is one of ``--wallet-key-file F``, ``--keyfile F [--password-file P]``,
``--rpc-wallet URL [--account ADDR]`` or ``--walletconnect`` (see ``app.cli.signers``).

Global options go before the command (``xmtp-keys --json inspect …``); ``--json`` is also
accepted after it.  Every command is one ``_command`` function registered in ``build_parser``.
Every failure ends with one line ``xmtp-keys: error: …`` on stderr (a sentence, without the
words of the libraries underneath: ``app.cli.failures``), never a traceback, and an exit code
that says what happened (``app.cli.exit_codes``, listed by ``--help``).  Private keys are
printed only by ``generate --json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from app.about import version
from app.cli import online
from app.cli.artefact_text import artefact_lines, keystore_lines, private_bundle_lines
from app.cli.artefacts import (
    find_artefact,
    find_encrypted_bundle,
    identify,
    is_negative,
    keystore_report,
    private_bundle_report,
)
from app.cli.artefacts import report as artefact_report
from app.cli.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NEGATIVE,
    EXIT_OK,
    exit_code_of,
)
from app.cli.failures import describe_failure
from app.cli.files import PRIVATE_FILE_MODE, check_new_file, write_private_file
from app.cli.inputs import decodings, read_input
from app.cli.keystore_cmd import add_keystore_commands
from app.cli.output import PROG, CliError, KeysDoNotOpen, Report, print_error, print_json
from app.cli.signers import add_signer_options, check_signer_options, open_signer
from app.cli.text import fingerprint, write_lines
from app.keyengine.artefacts import private_bundle_artefact
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import contacts_of
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import DecryptionFailed, KeyEngineError
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.texts import SignatureRequest
from app.keyengine.verdicts import opener_mismatch
from app.keyengine.wallets import WalletSigner
from app.keyengine.wallets.keystore import describe_keystore

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors become one ``CliError`` line, not usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- commands --------------------------------------------------------------------------------


def _verdict_code(report: Report) -> int:
    return EXIT_NEGATIVE if is_negative(report) else EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    data = read_input(args.file)
    keystore = describe_keystore(data, args.file)
    if keystore is not None:
        found = keystore_report(keystore, args.file)
        if args.json:
            print_json(found)
        else:
            write_lines(keystore_lines(keystore, args.file))
        return _verdict_code(found)
    readings = decodings(data)
    if args.json:
        found = identify(readings)
        print_json(found)
        return _verdict_code(found)
    artefact, reading = find_artefact(readings)
    write_lines(artefact_lines(artefact, reading))
    return _verdict_code(artefact_report(artefact))


def _decrypt_bundle(args: argparse.Namespace) -> int:
    check_signer_options(args)
    encrypted = find_encrypted_bundle(decodings(read_input(args.file)))

    async def unlock() -> tuple[PrivateKeyBundleV1, str]:
        async with open_signer(args) as signer:
            try:
                return await decrypt_bundle(encrypted, signer), signer.address
            except DecryptionFailed:
                raise KeysDoNotOpen(
                    f"wallet {signer.address} cannot decrypt this bundle: it was encrypted by "
                    "another wallet, or it is damaged"
                ) from None
            except KeyEngineError as exc:
                raise CliError(
                    f"the bundle decrypted but is not a valid private key bundle: {exc}"
                ) from None

    bundle, address = asyncio.run(unlock())
    artefact = private_bundle_artefact(bundle)
    report = private_bundle_report(artefact)
    report["decrypted_with_wallet"] = address
    mismatch = opener_mismatch(artefact.verdict, address)
    if mismatch is not None:
        errors = report["errors"]
        assert isinstance(errors, list)  # noqa: S101 - built by private_bundle_report
        errors.append(mismatch)
    if args.json:
        print_json(report)
    else:
        lines = private_bundle_lines(artefact)
        if mismatch is not None:
            lines.append(f"  - {mismatch}")
        write_lines([f"Decrypted with wallet {address}: an XMTP private key bundle.", *lines])
    return _verdict_code(report)


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
    identity_point = bundle.identity_key.public_key.point
    prekey_point = bundle.current_pre_key.public_key.point
    identity_key = identity_point.hex()
    prekey = prekey_point.hex()
    if out is not None:
        write_private_file(out, bundle.to_bytes())
    if not args.json:
        lines = [
            f"New XMTP identity for wallet {bundle.wallet_address}",
            f"  identity key  {fingerprint(identity_point)}",
            f"                {identity_key}",
            f"  pre-key       {fingerprint(prekey_point)}",
            f"                {prekey}",
            "  signed with the wallet: "
            + ", ".join(r.purpose.value.replace("_", " ") for r in requests),
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
    contact_v1, contact_v2 = contacts_of(bundle)
    report["contact_bundle_v1"] = _b64(contact_v1.to_bytes())
    report["contact_bundle_v2"] = _b64(contact_v2.to_bytes())
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
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON (machine-readable)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    online.add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    offline: tuple[tuple[str, Command, str, str, str], ...] = (
        (
            "inspect",
            _inspect,
            "decode any XMTP key artefact and check its signatures",
            "Detect which XMTP artefact FILE holds (raw bytes, base64 or hex) and show its "
            "public keys, recovered wallet and signature checks (as JSON with --json). "
            "Private keys are never printed. Exit code 1 when a signature does not hold.",
            "the artefact; - reads standard input",
        ),
        (
            "decrypt-bundle",
            _decrypt_bundle,
            "unlock an encrypted private key bundle with its wallet",
            "Decrypt an EncryptedPrivateKeyBundle by re-signing its 'XMTP : Enable Identity' "
            "text with the wallet, and report the bundle as inspect does.",
            "the encrypted bundle; - reads stdin",
        ),
        (
            "generate",
            _generate,
            "create a new identity offline",
            "Create a new XMTP identity for the wallet (two wallet signatures: Create "
            "Identity, Enable Identity). With --json the private key bundle is printed; "
            "with --out it is written to a new 0600 file instead.",
            "",
        ),
    )
    for name, handler, text, description, file_help in offline:
        sub = commands.add_parser(name, help=text, description=description)
        if handler is not _inspect:
            add_signer_options(sub)
        if file_help:
            sub.add_argument("file", metavar="FILE|-", help=file_help)
        else:
            sub.add_argument(
                "--out",
                metavar="FILE",
                help="write the private key bundle (raw bytes) to a new file",
            )
        _add_json(sub)
        sub.set_defaults(handler=handler)
    online.add_commands(commands, _add_json, add_signer_options)
    add_keystore_commands(commands, _add_json, add_signer_options)
    return parser


def _os_error_message(exc: OSError) -> str:
    reason = exc.strerror or "the system refused the operation"
    return f"{exc.filename}: {reason}" if exc.filename else reason


def main(argv: list[str] | None = None) -> int:
    """Run ``xmtp-keys`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        handler: Command = args.handler
        return handler(args)
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        code = exit_code_of(exc)
        if code is None:
            print_error(f"internal error ({type(exc).__name__}); please report it")
            return EXIT_INTERNAL
        if isinstance(exc, OSError) and not isinstance(exc, KeyEngineError):
            print_error(_os_error_message(exc))
        else:
            print_error(describe_failure(exc, args))
        return code


if __name__ == "__main__":
    raise SystemExit(main())
