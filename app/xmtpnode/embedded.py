"""Run a node in-process on a background thread with its own event loop.

The desktop app (Qt owns the main thread) and synchronous callers such as the CLI need a node
without giving it their thread.  ``EmbeddedNode`` starts one on a daemon thread and stops it
cleanly: open streams end, the storage thread drains, the SQLite file is closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from typing import Final

from app.xmtpnode.server import Clock, NodeServer

_START_TIMEOUT_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 30.0


class EmbeddedNode:
    """``with EmbeddedNode(db_path=...) as node: use(node.url)`` — or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | os.PathLike[str] = ":memory:",
        clock: Clock = time.time_ns,
    ) -> None:
        self.host = host
        self.port = port
        self.db_path = db_path
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._node: NodeServer | None = None
        self.url: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str:
        """Start serving; return the base URL (with the real port).  Errors are re-raised here."""
        if self.running:
            raise RuntimeError("the embedded node is already running")
        started: concurrent.futures.Future[str] = concurrent.futures.Future()
        # Not asyncio.new_event_loop(): under qasync the global policy would hand out a Qt loop,
        # which cannot run outside the main thread.
        loop = asyncio.SelectorEventLoop()
        thread = threading.Thread(
            target=self._run, args=(loop, started), name="xmtpnode", daemon=True
        )
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            self.url = started.result(timeout=_START_TIMEOUT_S)
        except BaseException:
            self._thread = None
            thread.join(_STOP_TIMEOUT_S)
            raise
        return self.url

    def _run(
        self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[str]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            node = NodeServer.open(self.db_path, host=self.host, port=self.port, clock=self._clock)
            try:
                url = loop.run_until_complete(node.start())
            except BaseException:
                node.storage.close()
                raise
        except BaseException as exc:
            started.set_exception(exc)
            loop.close()
            return
        self._node = node
        started.set_result(url)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(node.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop serving and wait until the storage is closed.  Idempotent."""
        thread, loop = self._thread, self._loop
        self._thread = None
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT_S)
        self._node = None
        self._loop = None

    def __enter__(self) -> EmbeddedNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
