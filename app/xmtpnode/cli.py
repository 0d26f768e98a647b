"""Command-line glue: run a node in the foreground until SIGINT/SIGTERM.

``python -m app.xmtpnode [--host H] [--port P] [--db PATH-or-URL] [serve options]``; ``xmtp-keys
node serve`` takes the same options (``add_serve_options``) and calls ``run_node``.  ``--db
postgresql://user@host:port/dbname`` stores in PostgreSQL, which several node processes may
share.  The first line
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
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from app.about import default_data_dir
from app.xmtpnode import memory
from app.xmtpnode.limits import NodeLimits, parse_limit_setting
from app.xmtpnode.logs import LOG_FORMATS, configure_logging, install_loop_error_handler
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.server import NodeServer, ServeOptions
from app.xmtpnode.storage import StorageError, describe, open_storage

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
    parser.add_argument(
        "--no-group-commit",
        dest="group_commit",
        action="store_false",
        help="commit each publish in its own transaction (slower; for comparison)",
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
    group_commit: bool = True,
) -> int:
    """Serve until SIGINT/SIGTERM; print ``listening on <url>`` first; return an exit status.

    ``db_path`` is a SQLite file (created 0600, missing directories 0700) or a PostgreSQL URL.
    ``ready_callback`` (if given) receives the base URL once the port is bound, after the
    line has been printed.  The storage is closed before returning.
    """
    configure_logging(log_format)
    memory.return_freed_memory_promptly()
    db = os.fspath(default_db_path() if db_path is None else db_path)
    serving = _serve_until_signal(
        host, port, db, ready_callback, options or ServeOptions(), group_commit
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(serving)


_GC_YOUNG_ALLOCATIONS: Final = 10_000
"""Net allocations between young collections (CPython's default: 700)."""
_SWITCH_INTERVAL_S: Final = 0.0005
"""How long the busy event loop keeps the GIL while the storage writer thread waits for it
(CPython's default: 5 ms).  A group commit takes the GIL back after each SQLite call; at the
default, a loaded node's commits (and so every publish waiting on them) queued behind the loop
for up to 5 ms a time: 128 clients saw p99 29 ms and stalls of 110 ms, against 23 and 27 ms."""


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
    options: ServeOptions,
    group_commit: bool,
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
        storage = await asyncio.to_thread(open_storage, db_path)
    except StorageError as exc:
        log.error("cannot open the node database: %s", exc)
        return 1
    node = NodeServer(
        storage,
        host=host,
        port=port,
        owns_storage=True,
        options=options,
        group_commit=group_commit,
    )
    try:
        try:
            url = await node.start()
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", host, port, exc)
            return 1
        # Everything alive now (modules, descriptors, the app) lives as long as the process:
        # out of the collector's sight, a full collection walks only what requests created.
        # Requests' objects die by reference counting; collecting every 700 allocations
        # mostly re-walked the ones still in flight (3% of a publish's instructions).
        gc.freeze()
        gc.set_threshold(_GC_YOUNG_ALLOCATIONS, 50, 100)
        sys.setswitchinterval(_SWITCH_INTERVAL_S)
        print(f"listening on {url}", flush=True)
        log.info("storing envelopes in %s", describe(db_path))
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
        "--db",
        default=None,
        metavar="PATH-or-URL",
        help=f"SQLite file (default {default_db_path()}; ':memory:' allowed) or"
        " postgresql://user@host:port/dbname",
    )
    add_serve_options(parser)
    args = parser.parse_args(argv)
    try:
        options = serve_options(args)
    except ValueError as exc:
        parser.error(str(exc))
    return run_node(
        args.host,
        args.port,
        args.db,
        None,
        options=options,
        log_format=args.log_format,
        group_commit=args.group_commit,
    )
