"""Which wallet signs for a command: the signer options and the one place signers are built.

Every command that needs a wallet takes exactly one of::

    --wallet-key-file F                    a file holding the private key in hex
    --keyfile F [--password-file P]        an Ethereum V3 keystore (password prompted if no P)
    --rpc-wallet URL [--account ADDR]      a JSON-RPC wallet answering personal_sign
    --walletconnect [--relay URL] [--project-id ID]

Keystores are unlocked and JSON-RPC wallets contacted asynchronously, so signers are built
inside the command's event loop with ``open_signer`` (or ``make_signer`` + ``close_signer``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from app.cli.inputs import read_wallet_key
from app.cli.output import CliError
from app.keyengine.files import read_regular_file
from app.keyengine.wallets import WalletSigner
from app.keyengine.wallets.base import close_signer

MAX_PASSWORD_FILE_BYTES: Final = 4096

_DEPENDENT_OPTIONS: Final = (
    ("password_file", "--password-file", "keyfile", "--keyfile"),
    ("account", "--account", "rpc_wallet", "--rpc-wallet"),
    ("relay", "--relay", "walletconnect", "--walletconnect"),
    ("project_id", "--project-id", "walletconnect", "--walletconnect"),
)


def add_signer_options(parser: argparse.ArgumentParser) -> None:
    """Register the wallet options: exactly one of the four ways to sign is required."""
    wallet = parser.add_argument_group("wallet (exactly one)")
    which = wallet.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--wallet-key-file",
        metavar="F",
        help="file holding the wallet's private key in hex (optional 0x)",
    )
    which.add_argument(
        "--keyfile",
        metavar="F",
        help="Ethereum V3 keystore file (JSON, scrypt or pbkdf2) holding the wallet key",
    )
    which.add_argument(
        "--rpc-wallet",
        metavar="URL",
        help="HTTP JSON-RPC wallet answering eth_accounts and personal_sign",
    )
    which.add_argument(
        "--walletconnect",
        action="store_true",
        default=False,
        help="sign with a mobile or desktop wallet over WalletConnect v2",
    )
    wallet.add_argument(
        "--password-file",
        metavar="P",
        help="with --keyfile: file whose first line is the keystore password "
        "(default: ask on the terminal)",
    )
    wallet.add_argument(
        "--account",
        metavar="ADDR",
        help="with --rpc-wallet: the account to use (default: the wallet's first)",
    )
    wallet.add_argument("--relay", metavar="URL", help="with --walletconnect: relay URL")
    wallet.add_argument("--project-id", metavar="ID", help="with --walletconnect: project id")


def check_signer_options(args: argparse.Namespace) -> None:
    """Refuse options given without the wallet option they belong to (before any work)."""
    for name, option, owner, owner_option in _DEPENDENT_OPTIONS:
        if getattr(args, name, None) is not None and not getattr(args, owner, None):
            raise CliError(f"{option} can only be used with {owner_option}")


async def make_signer(args: argparse.Namespace) -> WalletSigner:
    """The signer the command line asks for; ``close_signer`` releases it afterwards."""
    check_signer_options(args)
    if getattr(args, "wallet_key_file", None):
        return read_wallet_key(args.wallet_key_file)
    if getattr(args, "keyfile", None):
        return await _keystore_signer(args.keyfile, args.password_file)
    if getattr(args, "rpc_wallet", None):
        return await _rpc_signer(args.rpc_wallet, args.account)
    if getattr(args, "walletconnect", False):
        return await _walletconnect_signer(args)
    raise CliError(
        "this command needs a wallet: --wallet-key-file F, --keyfile F, --rpc-wallet URL "
        "or --walletconnect"
    )


@asynccontextmanager
async def open_signer(args: argparse.Namespace) -> AsyncIterator[WalletSigner]:
    """``make_signer`` for the duration of a ``with`` block."""
    signer = await make_signer(args)
    try:
        yield signer
    finally:
        await close_signer(signer)


# --- keystore --------------------------------------------------------------------------------


def _terminal_available() -> bool:
    """True when a password can be asked for on a terminal."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin is not None and sys.stdin.isatty()
    os.close(fd)
    return True


def read_password_file(path: str) -> str:
    """The first line of ``path`` (without its line break), the way geth reads --password."""
    try:
        raw = read_regular_file(Path(path), MAX_PASSWORD_FILE_BYTES)
    except OSError as exc:
        raise CliError(f"cannot read password file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_PASSWORD_FILE_BYTES:
        raise CliError(f"password file {path} is too large (over {MAX_PASSWORD_FILE_BYTES} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"password file {path} is not UTF-8 text") from None
    return text.splitlines()[0] if text else ""


def _ask_password(keyfile: str) -> str:
    if not _terminal_available():
        raise CliError(
            f"--keyfile {keyfile} needs its password: give --password-file P "
            "(there is no terminal to ask on)"
        )
    try:
        return getpass.getpass(f"Password for keystore {keyfile}: ")
    except EOFError:
        raise CliError("no password entered") from None


async def _keystore_signer(keyfile: str, password_file: str | None) -> WalletSigner:
    from app.keyengine.wallets.keystore import KeystoreSigner

    password = (
        _ask_password(keyfile) if password_file is None else read_password_file(password_file)
    )
    try:
        return await KeystoreSigner.unlock(keyfile, password)
    finally:
        del password


# --- JSON-RPC --------------------------------------------------------------------------------


async def _rpc_signer(url: str, account: str | None) -> WalletSigner:
    from app.keyengine.wallets.jsonrpc import JsonRpcSigner

    return await JsonRpcSigner.connect(url, account)


# --- WalletConnect ---------------------------------------------------------------------------


async def _walletconnect_signer(args: argparse.Namespace) -> WalletSigner:
    """WalletConnect v2: resume the session kept in the OS keyring, else pair a new wallet.

    The pairing URI and a terminal QR code go to stderr (or a JSON event line with ``--json``);
    without an OS keyring the session lasts only for this command.
    """
    from app.keyengine.vault import MemoryStore, SecretStore, default_secret_store
    from app.keyengine.wallets.walletconnect import WalletConnectSigner
    from app.walletconnect import DEFAULT_RELAY_URL, ProjectIdMissing, resolve_project_id

    try:
        project_id = resolve_project_id(args.project_id)
    except ProjectIdMissing:
        raise CliError(
            "WalletConnect needs a project id: --project-id ID or XMTP_COMPANION_WC_PROJECT_ID"
        ) from None
    store: SecretStore | None = default_secret_store()
    if store is None:
        store = MemoryStore()
        sys.stderr.write("note: no OS keyring, so the WalletConnect session is not remembered\n")
    on_event = _walletconnect_printer(bool(getattr(args, "json", False)))
    return await WalletConnectSigner.resume_or_pair(
        store, args.relay or DEFAULT_RELAY_URL, project_id, on_event=on_event
    )


def _walletconnect_printer(json_mode: bool) -> Callable[[object], None]:
    """Show the wallet-side events only WalletConnect has (flow events already announce every
    signature, so the signer's own ``SignRequested``/``Signed`` are left out)."""
    from dataclasses import asdict

    from app.walletconnect.events import PairingUriReady, SessionApproved, WalletConnectEvent
    from app.walletconnect.uri import qr_text

    def show(event: object) -> None:
        if not isinstance(event, WalletConnectEvent):
            return
        if json_mode:
            line = {"event": event.kind} | {k: _plain(v) for k, v in asdict(event).items()}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            return
        match event:
            case PairingUriReady(uri=uri):
                sys.stderr.write(
                    f"Scan with your wallet, or paste this link into it:\n{uri}\n{qr_text(uri)}\n"
                )
            case SessionApproved(peer_name=name, address=address):
                sys.stderr.write(f"Connected to {name}: {address}\n")
            case _:
                sys.stderr.write(f"wallet: {event.kind.replace('_', ' ')}\n")

    return show


def _plain(value: object) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
