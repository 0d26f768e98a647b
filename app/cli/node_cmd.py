"""``xmtp-keys node serve`` and ``node migrate``: the XMTP-compatible node for a team."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.files import data_dir_of


def add_node_commands(commands: Any) -> None:
    """Register ``node serve`` and ``node migrate`` on the ``xmtp-keys`` sub-parsers."""
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
