"""``xmtp-keys`` commands that talk to an XMTP node: login, rotation, lookup, invites, backup.

Without ``--node URL`` the node runs embedded in this process on a free loopback port, with its
data under the user's data directory.  With ``--json`` stdout carries one JSON object per line:
progress and signature events (``{"event": …}``) first, the command's result last.  Without it,
events are plain lines on stderr and the result is text for a person (``app.cli.online_text``).
A lookup that finds no valid keys ends with exit code 1 (``app.cli.exit_codes``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from app.cli.artefacts import find_encrypted_bundle
from app.cli.exit_codes import EXIT_NEGATIVE, EXIT_OK
from app.cli.failures import EMBEDDED_NODE, shown_url
from app.cli.files import check_new_file, data_dir_of, write_private_file
from app.cli.inputs import decodings, read_input
from app.cli.node_cmd import add_node_commands
from app.cli.online_text import (
    RESTORED,
    ROTATED,
    export_lines,
    identity_lines,
    invite_lines,
    lookup_lines,
)
from app.cli.output import Report
from app.cli.signers import check_signer_options, open_signer
from app.cli.text import write_lines
from app.keyengine.flows import EventKind, FlowEvent, Identity, KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import Vault, default_secret_store
from app.keyengine.wallets import WalletSigner

T = TypeVar("T")


@dataclass
class Session:
    """Everything a command needs: the flows, the node URL and how to report."""

    flows: KeyFlows
    node_url: str
    json_mode: bool
    node_shown: str
    """The node as the text output names it (the URL given, or the built-in node)."""
    noted_where: bool = False
    """True once a note on stderr has said where the private keys are kept."""


class _EventPrinter:
    """Shows flow events: JSON lines on stdout with ``--json``, plain lines on stderr without."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode

    def __call__(self, event: FlowEvent) -> None:
        if self.json_mode:
            line: dict[str, Any] = {"event": event.kind.value, "message": event.message}
            if event.request is not None:
                line["purpose"] = event.request.purpose.value
                line["text"] = event.request.text
            if event.topic is not None:
                line["topic"] = event.topic
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            return
        message = event.message + (f" ({' and '.join(event.forms)})" if event.forms else "")
        if event.kind is EventKind.SIGN_REQUEST and event.request is not None:
            purpose = event.request.purpose.value.replace("_", " ")
            sys.stderr.write(f"Signing with your wallet ({purpose}):\n")
            for text_line in event.request.text.splitlines():
                sys.stderr.write(f"    {text_line}\n")
        elif event.kind is EventKind.WARNING:
            sys.stderr.write(f"warning: {message}\n")
        else:
            sys.stderr.write(f"{message}\n")


@contextmanager
def _embedded_node(data_dir: Path) -> Any:
    from app.keyengine.files import make_private_dir
    from app.xmtpnode.embedded import EmbeddedNode

    make_private_dir(data_dir)  # the embedded node's database lives here: owner only
    node = EmbeddedNode(db_path=data_dir / "node.sqlite3")
    url = node.start()
    try:
        yield url
    finally:
        node.stop()


@asynccontextmanager
async def node_session(
    args: argparse.Namespace, node_url: str, *, holds_keys: bool
) -> AsyncIterator[Session]:
    """The flows on ``node_url``; ``holds_keys``: the command unlocks private keys, so a
    person is told first when nothing on this machine will keep them."""
    data_dir = data_dir_of(args)
    json_mode = bool(getattr(args, "json", False))
    secrets = default_secret_store()
    vault = Vault(data_dir, secrets)
    noted = holds_keys and secrets is None and not json_mode
    if noted:
        sys.stderr.write(f"note: private keys are kept {vault.where}\n")
    shown = shown_url(args.node) if args.node else f"{EMBEDDED_NODE} ({node_url})"
    async with XmtpClient(node_url) as client:
        printer = _EventPrinter(json_mode)
        flows = KeyFlows(client, vault, printer)
        yield Session(flows, node_url, json_mode, shown, noted)


def _run(args: argparse.Namespace, body: Callable[[Session], Awaitable[T]]) -> T:
    """Run ``body`` in a session against ``--node`` or an embedded node (no wallet)."""

    async def go(url: str) -> T:
        async with node_session(args, url, holds_keys=False) as session:
            return await body(session)

    return on_node(args, go)


def on_node(args: argparse.Namespace, go: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run ``go(node_url)`` in a new event loop, on ``--node`` or on an embedded node."""
    if args.node:
        return asyncio.run(go(args.node))
    data_dir = data_dir_of(args)
    with _embedded_node(data_dir) as url:
        return asyncio.run(go(url))


def _run_signed(
    args: argparse.Namespace, body: Callable[[Session, WalletSigner], Awaitable[T]]
) -> T:
    """``_run`` with the command line's wallet as well.

    The signer is built in the session's event loop (a keystore is unlocked, an RPC wallet
    reached) before the node client opens, and released after ``body``.
    """
    check_signer_options(args)

    async def go(url: str) -> T:
        async with open_signer(args) as signer, node_session(args, url, holds_keys=True) as session:
            return await body(session, signer)

    return on_node(args, go)


def _identity_report(identity: Identity, session: Session) -> Report:
    bundle = identity.bundle
    return {
        "wallet_address": bundle.wallet_address,
        "identity_key": bundle.identity_key.public_key.point.hex(),
        "prekey": bundle.current_pre_key.public_key.point.hex(),
        "prekeys": [
            {
                "public_key": key.public_key.point.hex(),
                "created_ns": key.public_key.timestamp_ms * 1_000_000,
            }
            for key in bundle.pre_keys
        ],
        "source": identity.source,
        "signed_texts": [
            {"purpose": request.purpose.value, "text": request.text} for request in identity.signed
        ],
        "node": session.node_url,
        "keys_kept": session.flows.vault.where,
    }


def _emit_result(
    session: Session, report: Report | list[Report], text: Callable[[], list[str]]
) -> None:
    """The result: one JSON line with ``--json``, else the lines ``text`` makes."""
    if session.json_mode:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        write_lines(text())


def _emit_identity(session: Session, identity: Identity, done: str | None = None) -> None:
    kept = None if session.noted_where else session.flows.vault.where

    def text() -> list[str]:
        return identity_lines(identity, session.node_shown, kept, done=done)

    _emit_result(session, _identity_report(identity, session), text)


def _login(args: argparse.Namespace) -> int:
    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        _emit_identity(session, identity)
        return EXIT_OK

    return _run_signed(args, body)


def _rotate(args: argparse.Namespace) -> int:
    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        rotated = await session.flows.rotate_prekey(signer, identity)
        combined = Identity(
            rotated.bundle, rotated.encrypted, identity.source, identity.signed + rotated.signed
        )
        _emit_identity(session, combined, ROTATED)
        return EXIT_OK

    return _run_signed(args, body)


def _lookup(args: argparse.Namespace) -> int:
    async def body(session: Session) -> int:
        result = await session.flows.lookup(args.address)
        contact = result.contact
        report: Report = {
            "wallet_address": result.wallet_address,
            "identity_key": None if contact is None else contact.identity_point.hex(),
            "prekey": None
            if contact is None or contact.pre_key_point is None
            else contact.pre_key_point.hex(),
            "valid": result.valid,
            "errors": list(result.errors if not result.valid else ()),
            "contact_version": None if contact is None else contact.version.value,
            "published_ns": result.timestamp_ns,
            "checks": []
            if result.verification is None
            else [
                {"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.verification.checks
            ],
        }
        _emit_result(session, report, lambda: lookup_lines(result))
        return EXIT_OK if result.valid else EXIT_NEGATIVE

    return _run(args, body)


def _invites(args: argparse.Namespace) -> int:
    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        report = await session.flows.invites(identity.bundle)
        for error in report.errors:
            sys.stderr.write(f"warning: {error}\n")
        _emit_result(
            session,
            [
                {
                    "peer_address": invite.peer_address,
                    "topic": invite.topic,
                    "prekey": invite.pre_key.hex(),
                    "created_ns": invite.created_ns,
                    "conversation_id": invite.conversation_id,
                    "sent_by_us": invite.sent_by_us,
                }
                for invite in report.invites
            ],
            lambda: invite_lines(report, identity.wallet_address),
        )
        return EXIT_OK

    return _run_signed(args, body)


def _export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_new_file(out)

    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        write_private_file(out, identity.encrypted.to_bytes())
        _emit_result(
            session,
            {
                "wallet_address": identity.wallet_address,
                "file": str(out),
                "what": "encrypted private key bundle; only this wallet's signature opens it",
            },
            lambda: export_lines(identity.wallet_address, str(out)),
        )
        return EXIT_OK

    return _run_signed(args, body)


def _import(args: argparse.Namespace) -> int:
    # Checked before any node or wallet is touched; raw bytes, base64 or hex are accepted.
    data = find_encrypted_bundle(decodings(read_input(args.file))).to_bytes()

    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.restore(signer, data)
        _emit_identity(session, identity, RESTORED)
        return EXIT_OK

    return _run_signed(args, body)


def node_url(value: str) -> str:
    """``--node``: an http(s) URL with a host, refused before anything starts otherwise."""
    problem = argparse.ArgumentTypeError(
        f"{shown_url(value)!r} is not an XMTP node URL (expected http://host:port)"
    )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem
    return value


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--node", metavar="URL", type=node_url, help="XMTP node to use (default: embedded)"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="where local state is kept")


def add_commands(
    commands: Any,
    add_json: Callable[[argparse.ArgumentParser], None],
    add_wallet: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the online commands on the ``xmtp-keys`` sub-parser collection."""
    add_node_commands(commands)

    for name, handler, text in (
        ("login", _login, "unlock (or create) this wallet's XMTP identity"),
        ("rotate-prekey", _rotate, "make a new current pre-key, keeping every old one"),
        ("prekeys", _login, "show the current pre-key and the pre-key history"),
        ("invites", _invites, "open every invitation sent to this identity"),
    ):
        sub = commands.add_parser(name, help=text)
        add_wallet(sub)
        add_json(sub)
        sub.set_defaults(handler=handler)

    lookup = commands.add_parser(
        "lookup",
        help="verify anyone's published keys",
        description="Verify the keys ADDRESS published, link by link. Exit code 1 when it has "
        "none, or none that hold.",
    )
    lookup.add_argument("address", metavar="ADDRESS")
    add_json(lookup)
    lookup.set_defaults(handler=_lookup)

    export = commands.add_parser("export", help="save the encrypted key bundle to a file")
    add_wallet(export)
    export.add_argument("--out", required=True, metavar="FILE")
    add_json(export)
    export.set_defaults(handler=_export)

    restore = commands.add_parser("import", help="restore an exported bundle to the node")
    add_wallet(restore)
    restore.add_argument("file", metavar="FILE|-")
    add_json(restore)
    restore.set_defaults(handler=_import)
