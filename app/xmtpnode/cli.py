"""Command-line glue: run a node in the foreground until SIGINT/SIGTERM.

``python -m app.xmtpnode [--host H] [--port P] [--db PATH]``; ``xmtp-keys node serve`` is
meant to call ``run_node`` with the same arguments.  The first line on stdout is exactly
``listening on http://HOST:PORT`` (with the real port when 0 was asked for) so that scripts and
tests can wait for it and learn the port; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from app.about import default_data_dir
from app.xmtpnode.server import NodeServer

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5555
"""xmtp-js's ``local`` environment is ``http://localhost:5555``."""

log = logging.getLogger(__name__)


def default_db_path() -> Path:
    """``node.sqlite3`` in the per-user data directory of the app."""
    return default_data_dir() / "node.sqlite3"


def run_node(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db_path: str | os.PathLike[str] | None = None,
    ready_callback: Callable[[str], None] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; print ``listening on <url>`` first; return an exit status.

    ``ready_callback`` (if given) receives the base URL once the port is bound, after the
    line has been printed.  The storage is closed before returning.
    """
    if db_path is None:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)  # first run: create the data directory
    else:
        path = Path(db_path)
    return asyncio.run(_serve_until_signal(host, port, str(path), ready_callback))


async def _serve_until_signal(
    host: str, port: int, db_path: str, ready_callback: Callable[[str], None] | None
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
        node = NodeServer.open(db_path, host=host, port=port)
    except sqlite3.Error as exc:
        print(f"cannot open the node database {db_path}: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            url = await node.start()
        except OSError as exc:
            print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr)
            return 1
        print(f"listening on {url}", flush=True)
        print(f"storing envelopes in {db_path}", file=sys.stderr, flush=True)
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
        "--db", default=None, help=f"SQLite file (default {default_db_path()}; ':memory:' allowed)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return run_node(args.host, args.port, args.db, None)
