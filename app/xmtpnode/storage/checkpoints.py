"""WAL checkpoints for a SQLite store, on a thread of their own instead of in a commit.

SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages: it copies
the pages into the database file and fsyncs it, and every publish waiting for that commit
waits ~10 ms more (under load, a few times a second: most of the node's p99).  Here the
committing connection never checkpoints; this thread does, with its own connection, in
PASSIVE mode (it never blocks a writer or a reader).  A PASSIVE checkpoint cannot finish
while commits keep coming, so past ``WAL_LIMIT_PAGES`` it runs a RESTART checkpoint, which
waits for the writer in turn, so that the WAL file stays bounded.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Final

log = logging.getLogger(__name__)

INTERVAL_S: Final = 0.25
WAL_LIMIT_PAGES: Final = 16_384
"""64 MiB of WAL at the default page size."""


class Checkpointer:
    """Checkpoints the WAL of ``path`` every ``INTERVAL_S`` until ``close()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xmtpnode-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            log.warning("checkpoints of %s disabled: %s", self.path, exc)
            return
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            while not self._stop.wait(INTERVAL_S):
                self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            _, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if wal_pages > WAL_LIMIT_PAGES and copied < wal_pages:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error as exc:  # a busy or failing disk: the next round tries again
            log.warning("checkpoint of %s failed: %s", self.path, exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
