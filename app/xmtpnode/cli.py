"""Command-line glue: run a node in the foreground until SIGINT/SIGTERM.

``python -m app.xmtpnode [--host H] [--port P] [--db PATH-or-URL]``; ``xmtp-keys node serve``
calls ``run_node`` with the same arguments.  ``--db postgresql://user@host:port/dbname`` stores
in PostgreSQL, which several node processes may share.  The first line on stdout is exactly
``listening on http://HOST:PORT`` (with the real port when 0 was asked for) so that scripts and
tests can wait for it and learn the port; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import platformdirs

from app.xmtpnode.server import NodeServer
from app.xmtpnode.storage import StorageError, describe, open_storage

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5555
"""xmtp-js's ``local`` environment is ``http://localhost:5555``."""

log = logging.getLogger(__name__)


def default_db_path() -> Path:
    """``node.sqlite3`` in the per-user data directory of the app."""
    return Path(platformdirs.user_data_dir("xmtp-key-companion", appauthor=False)) / "node.sqlite3"


def run_node(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db_path: str | os.PathLike[str] | None = None,
    ready_callback: Callable[[str], None] | None = None,
    *,
    group_commit: bool = True,
) -> int:
    """Serve until SIGINT/SIGTERM; print ``listening on <url>`` first; return an exit status.

    ``db_path`` is a SQLite file (created 0600, missing directories 0700) or a PostgreSQL URL.
    ``ready_callback`` (if given) receives the base URL once the port is bound, after the
    line has been printed.  The storage is closed before returning.
    """
    db = os.fspath(default_db_path() if db_path is None else db_path)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve_until_signal(host, port, db, ready_callback, group_commit))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where installed (Linux, macOS), else asyncio's own loop.  Measured on the
    development machine, uvloop cut the node's CPU time per publish by a quarter to a third."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return None
    return uvloop.new_event_loop


async def _serve_until_signal(
    host: str,
    port: int,
    db_path: str,
    ready_callback: Callable[[str], None] | None,
    group_commit: bool,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            try:
                signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
            except ValueError:
                pass
    try:
        storage = await asyncio.to_thread(open_storage, db_path)
    except StorageError as exc:
        print(f"cannot open the node database: {exc}", file=sys.stderr)
        return 1
    node = NodeServer(storage, host=host, port=port, owns_storage=True, group_commit=group_commit)
    try:
        try:
            url = await node.start()
        except OSError as exc:
            print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr)
            return 1
        print(f"listening on {url}", flush=True)
        print(f"storing envelopes in {describe(db_path)}", file=sys.stderr, flush=True)
        if ready_callback is not None:
            ready_callback(url)
        await stop.wait()
        print("stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        await node.stop()
        for signum in installed:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.xmtpnode", description="Run a local XMTP (message API v1) node."
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="TCP port, 0 for any (default %(default)s)"
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH-or-URL",
        help=f"SQLite file (default {default_db_path()}; ':memory:' allowed) or"
        " postgresql://user@host:port/dbname",
    )
    add_group_commit_option(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return run_node(args.host, args.port, args.db, None, group_commit=args.group_commit)


def add_group_commit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-group-commit",
        dest="group_commit",
        action="store_false",
        help="commit each publish in its own transaction (slower; for comparison)",
    )
