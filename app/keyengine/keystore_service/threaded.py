"""The keystore server on its own event-loop thread, for callers that block (tests, bench).

A test that drives xmtp-js through a blocking pipe cannot serve HTTP from the same loop; this
runs :class:`KeystoreServer` on a private loop in a daemon thread, bound to loopback.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path

from app.keyengine.keystore_service.apps import AppRegistry
from app.keyengine.keystore_service.methods import BundleProvider, KeystoreMethods
from app.keyengine.keystore_service.server import CallObserver, KeystoreServer


class ThreadedKeystore:
    """``with ThreadedKeystore(bundles, directory) as ks: ks.url`` — stopped on exit."""

    def __init__(
        self,
        bundles: BundleProvider,
        directory: Path,
        *,
        port: int = 0,
        on_call: CallObserver | None = None,
    ) -> None:
        self.registry = AppRegistry(directory)
        self.methods = KeystoreMethods(bundles, directory / "state")
        self.server = KeystoreServer(self.methods, self.registry, port=port, on_call=on_call)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        self._thread.start()
        started: Future[str] = asyncio.run_coroutine_threadsafe(self.server.start(), self._loop)
        return started.result(timeout=10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> ThreadedKeystore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
