"""``xmtp-keys`` commands that talk to an XMTP node: login, rotation, lookup, invites, backup.

Without ``--node URL`` the node runs embedded in this process on a free loopback port, with its
data under the user's data directory.  With ``--json`` stdout carries one JSON object per line:
progress and signature events (``{"event": …}``) first, the command's result last.
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

from app.about import default_data_dir
from app.cli.files import check_new_file, write_private_file
from app.cli.inputs import read_input
from app.cli.output import Report, print_json
from app.cli.signers import check_signer_options, open_signer
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
        if event.kind is EventKind.SIGN_REQUEST and event.request is not None:
            sys.stderr.write(f"Signing with your wallet ({event.request.purpose.value}):\n")
            for text_line in event.request.text.splitlines():
                sys.stderr.write(f"    {text_line}\n")
        elif event.kind is EventKind.WARNING:
            sys.stderr.write(f"warning: {event.message}\n")
        else:
            sys.stderr.write(f"{event.message}\n")


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


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data directory a command works in: ``--data-dir``, else the user data dir."""
    return Path(args.data_dir) if args.data_dir else default_data_dir()


@asynccontextmanager
async def node_session(args: argparse.Namespace, node_url: str) -> AsyncIterator[Session]:
    data_dir = data_dir_of(args)
    json_mode = bool(getattr(args, "json", False))
    secrets = default_secret_store()
    vault = Vault(data_dir, secrets)
    if secrets is None and not json_mode:
        sys.stderr.write(f"note: private keys are kept {vault.where}\n")
    async with XmtpClient(node_url) as client:
        printer = _EventPrinter(json_mode)
        yield Session(KeyFlows(client, vault, printer), node_url, json_mode)


def _run(args: argparse.Namespace, body: Callable[[Session], Awaitable[T]]) -> T:
    """Run ``body`` in a session against ``--node`` or an embedded node."""

    async def go(url: str) -> T:
        async with node_session(args, url) as session:
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
        async with open_signer(args) as signer, node_session(args, url) as session:
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


def _emit_result(session: Session, report: Report | list[Report]) -> None:
    if session.json_mode:
        sys.stdout.write(json.dumps(report) + "\n")
    elif isinstance(report, list):
        for item in report:
            print_json(item)
    else:
        print_json(report)


def _login(args: argparse.Namespace) -> int:
    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        _emit_result(session, _identity_report(identity, session))
        return 0

    return _run_signed(args, body)


def _rotate(args: argparse.Namespace) -> int:
    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.login(signer)
        rotated = await session.flows.rotate_prekey(signer, identity)
        combined = Identity(
            rotated.bundle, rotated.encrypted, identity.source, identity.signed + rotated.signed
        )
        _emit_result(session, _identity_report(combined, session))
        return 0

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
        _emit_result(session, report)
        return 0

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
        )
        return 0

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
        )
        return 0

    return _run_signed(args, body)


def _import(args: argparse.Namespace) -> int:
    data = read_input(args.file)

    async def body(session: Session, signer: WalletSigner) -> int:
        identity = await session.flows.restore(signer, data)
        _emit_result(session, _identity_report(identity, session))
        return 0

    return _run_signed(args, body)


def _node_serve(args: argparse.Namespace) -> int:
    from app.xmtpnode.cli import run_node, serve_options

    try:
        options = serve_options(args)
    except ValueError as exc:
        print(f"xmtp-keys node serve: {exc}", file=sys.stderr)
        return 2

    db = args.db if args.db else data_dir_of(args) / "node.sqlite3"
    return run_node(
        args.host,
        args.port,
        db,
        options=options,
        log_format=args.log_format,
        group_commit=args.group_commit,
    )


def _node_migrate(args: argparse.Namespace) -> int:
    from app.xmtpnode.migrate import run_migrate

    return run_migrate(args.source, args.target)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", metavar="URL", help="XMTP node to use (default: embedded)")
    parser.add_argument("--data-dir", metavar="DIR", help="where local state is kept")


def add_commands(
    commands: Any,
    add_json: Callable[[argparse.ArgumentParser], None],
    add_wallet: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the online commands on the ``xmtp-keys`` sub-parser collection."""
    node = commands.add_parser("node", help="run an XMTP-compatible node")
    node_commands = node.add_subparsers(dest="node_command", metavar="ACTION", required=True)
    serve = node_commands.add_parser("serve", help="serve the XMTP message API v1 (REST)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=5555, help="port (0 picks a free one)")
    serve.add_argument(
        "--db",
        metavar="PATH-or-URL",
        help="SQLite file (default in the data dir) or postgresql://user@host:port/dbname"
        " (several node processes may share one PostgreSQL database)",
    )
    from app.xmtpnode.cli import add_serve_options

    add_serve_options(serve)
    serve.set_defaults(handler=_node_serve)
    migrate = node_commands.add_parser(
        "migrate", help="copy a node's envelopes between SQLite and PostgreSQL (resumable)"
    )
    migrate.add_argument("--from", dest="source", required=True, metavar="PATH-or-URL")
    migrate.add_argument("--to", dest="target", required=True, metavar="PATH-or-URL")
    migrate.set_defaults(handler=_node_migrate)

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

    lookup = commands.add_parser("lookup", help="verify anyone's published keys")
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
