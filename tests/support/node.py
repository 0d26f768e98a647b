"""The one way tests run a real node: ``RunningNode``, on a loopback port over its own database.

A ``RunningNode`` is the app's ``EmbeddedNode`` (the node on a thread with its own event loop),
so the same object serves synchronous tests, pytest-asyncio tests and the GUI tests on their
qasync loop.  What tests need beyond ``EmbeddedNode`` lives here once: ``stop()`` then
``start()`` (or ``restart()``) serves the same database on the same port, as a node restarted
by its operator would, and ``url`` stays valid across the restart so that a client can keep it.

The database is a constructor parameter (``db``; today a SQLite file path) so that one fixture
(``node_db`` in ``tests/conftest.py``) decides where every node test keeps its data.
"""

from __future__ import annotations

import os
import time
from types import TracebackType

from app.xmtpnode.embedded import EmbeddedNode
from app.xmtpnode.server import Clock, NodeServer


class RunningNode:
    """``with RunningNode(tmp_path / "node.sqlite3") as node: use(node.url)``."""

    def __init__(
        self, db: str | os.PathLike[str], *, port: int = 0, clock: Clock = time.time_ns
    ) -> None:
        self.db = db
        self.port = port
        self._clock = clock
        self._embedded: EmbeddedNode | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL; the same after a restart (the port is kept)."""
        if self._url is None:
            raise RuntimeError("the node has not been started")
        return self._url

    @property
    def running(self) -> bool:
        return self._embedded is not None and self._embedded.running

    @property
    def server(self) -> NodeServer:
        """The live server, for tests that look inside it (its storage, its broker)."""
        # EmbeddedNode keeps its server private; tests are the one reader that needs it.
        server = None if self._embedded is None else self._embedded._node
        if server is None:
            raise RuntimeError("the node is not running")
        return server

    def start(self) -> str:
        """Serve (again) on this node's port; return the URL.  Bind errors are raised here."""
        if self.running:
            raise RuntimeError("the node is already running")
        embedded = EmbeddedNode(port=self.port, db_path=self.db, clock=self._clock)
        url = embedded.start()
        self._embedded, self._url = embedded, url
        self.port = int(url.rsplit(":", 1)[1])
        return url

    def stop(self) -> None:
        """Stop serving (open streams end, the database is closed).  Idempotent."""
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.stop()

    def restart(self) -> str:
        self.stop()
        return self.start()

    def __enter__(self) -> RunningNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
