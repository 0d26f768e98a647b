"""Command-line glue: run a node in the foreground until SIGINT/SIGTERM.

``python -m app.xmtpnode [--host H] [--port P] [--db PATH] [serve options]``; ``xmtp-keys node
serve`` takes the same options (``add_serve_options``) and calls ``run_node``.  The first line
on stdout is exactly ``listening on http://HOST:PORT`` (with the real port when 0 was asked
for) so that scripts and tests can wait for it and learn the port; everything else (logs, one
JSON object per line with ``--log-format json``) goes to stderr.

SIGTERM or SIGINT stops the node gracefully: it stops accepting connections, lets in-flight
requests finish (publishes are acknowledged only once stored), ends open streams cleanly and
exits 0 — within ``SHUTDOWN_TIMEOUT_S`` plus the time to close the store.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from app.about import default_data_dir
from app.xmtpnode import memory
from app.xmtpnode.limits import NodeLimits, parse_limit_setting
from app.xmtpnode.logs import LOG_FORMATS, configure_logging, install_loop_error_handler
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.server import NodeServer, ServeOptions

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5555
"""xmtp-js's ``local`` environment is ``http://localhost:5555``."""

log = logging.getLogger(__name__)


def default_db_path() -> Path:
    """``node.sqlite3`` in the per-user data directory of the app."""
    return default_data_dir() / "node.sqlite3"


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``node serve`` besides host, port and database."""
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, default="text", help="stderr log lines (text|json)"
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="browser origin allowed to call the node (repeatable; default any: *)",
    )
    parser.add_argument(
        "--trust-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="reverse proxy address whose X-Forwarded-For names the client (repeatable)",
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a limit (see README, Reliability), e.g. publishes_per_wallet_per_s=200",
    )


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """``ServeOptions`` from parsed ``add_serve_options`` arguments; ValueError if bad."""
    overrides = dict(parse_limit_setting(item) for item in args.limit)
    return ServeOptions(
        limits=NodeLimits().with_overrides(overrides),
        cors=CorsPolicy.from_list(args.cors_origin),
        trusted_proxies=frozenset(args.trust_proxy),
    )


def run_node(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db_path: str | os.PathLike[str] | None = None,
    ready_callback: Callable[[str], None] | None = None,
    *,
    options: ServeOptions | None = None,
    log_format: str = "text",
) -> int:
    """Serve until SIGINT/SIGTERM; print ``listening on <url>`` first; return an exit status.

    ``ready_callback`` (if given) receives the base URL once the port is bound, after the
    line has been printed.  The storage is closed before returning.
    """
    configure_logging(log_format)
    memory.return_freed_memory_promptly()
    if db_path is None:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)  # first run: create the data directory
    else:
        path = Path(db_path)
    return asyncio.run(
        _serve_until_signal(host, port, str(path), ready_callback, options or ServeOptions())
    )


async def _serve_until_signal(
    host: str,
    port: int,
    db_path: str,
    ready_callback: Callable[[str], None] | None,
    options: ServeOptions,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    install_loop_error_handler(loop)
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
        node = NodeServer.open(db_path, host=host, port=port, options=options)
    except sqlite3.Error as exc:
        log.error("cannot open the node database %s: %s", db_path, exc)
        return 1
    try:
        try:
            url = await node.start()
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", host, port, exc)
            return 1
        print(f"listening on {url}", flush=True)
        log.info("storing envelopes in %s", db_path)
        log.info("limits: %s", node.parts.limits)
        if ready_callback is not None:
            ready_callback(url)
        await stop.wait()
        log.info("stopping: no new connections; finishing requests in flight")
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
    add_serve_options(parser)
    args = parser.parse_args(argv)
    try:
        options = serve_options(args)
    except ValueError as exc:
        parser.error(str(exc))
    return run_node(
        args.host, args.port, args.db, None, options=options, log_format=args.log_format
    )
