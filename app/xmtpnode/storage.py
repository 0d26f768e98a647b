"""Envelope storage of the node: an interface and its SQLite implementation.

The node only ever appends envelopes and reads them back by topic and time, page by page, so
the storage is one table.  Two properties matter for protocol compatibility:

* **De-duplication.**  xmtp-js retries a publish that was refused or failed (six times on a
  403, once after a token refresh), so the same envelope can arrive several times.  An envelope
  is identified by (topic, timestamp, digest) with digest = SHA-256(topic bytes ‖ message bytes),
  the same digest the reference node puts in its paging cursors; a UNIQUE constraint on that
  triple makes repeats no-ops.
* **Stable paging.**  Rows are ordered by (timestamp_ns, id), id being the insertion order, and
  a cursor names the last row of a page by (sender_time_ns, digest).  The next page continues
  strictly after that row, so no envelope is returned twice or skipped, even when many share a
  timestamp.

SQLite itself is synchronous; the server runs these calls off its event loop.  One connection
is shared by every thread behind a lock: a ``:memory:`` database exists only inside the
connection that created it, and SQLite serialises writers anyway, so per-thread connections
would buy nothing but a second code path.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

MAX_SQLITE_INTEGER: Final = 2**63 - 1
"""Largest timestamp SQLite can store (INTEGER is signed 64-bit; protobuf's is uint64)."""

_SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS envelopes (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    timestamp_ns INTEGER NOT NULL,
    message BLOB NOT NULL,
    digest BLOB NOT NULL,
    UNIQUE (topic, timestamp_ns, digest)
);
CREATE INDEX IF NOT EXISTS envelopes_by_topic_time ON envelopes (topic, timestamp_ns, id);
"""
# Up to this many topics are bound as individual parameters (SQLite allows 32766); longer
# lists go in as one JSON array so a huge multi-topic query cannot hit that limit.
_MAX_BOUND_TOPICS: Final = 500


def envelope_digest(topic: str, message: bytes) -> bytes:
    """SHA-256(topic UTF-8 bytes ‖ message bytes): the reference node's cursor digest."""
    return hashlib.sha256(topic.encode("utf-8") + message).digest()


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message on a content topic, as published and as stored."""

    topic: str
    timestamp_ns: int
    message: bytes

    @property
    def digest(self) -> bytes:
        return envelope_digest(self.topic, self.message)


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Position after which the next page starts: the last row of the previous page."""

    digest: bytes
    sender_time_ns: int


class Direction(enum.Enum):
    ASCENDING = "ASC"
    DESCENDING = "DESC"


class StorageClosed(RuntimeError):
    """The storage was used after ``close()``."""


class Storage(ABC):
    """What the server needs from a store of envelopes (all calls are synchronous)."""

    @abstractmethod
    def insert_new(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Store ``envelopes`` atomically; return those that were not already stored.

        Duplicates (same topic, timestamp and message — also within ``envelopes``) are
        skipped.  Either every new envelope is stored or, on error, none is.
        """

    def insert(self, envelopes: Sequence[Envelope]) -> int:
        """Store ``envelopes`` atomically; return how many were new."""
        return len(self.insert_new(envelopes))

    @abstractmethod
    def query(
        self,
        topics: Sequence[str],
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: Direction,
        cursor: PageCursor | None,
    ) -> tuple[list[Envelope], PageCursor | None]:
        """One page of envelopes on any of ``topics`` ordered by (timestamp, insertion).

        ``start_ns``/``end_ns`` are inclusive bounds on the timestamp, 0 meaning unbounded.
        The returned cursor is set only when the page is full (``limit`` rows): a shorter page
        is the last one.  A cursor continues strictly after the row it names; if no such row
        exists among ``topics`` it continues strictly after its timestamp.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the database; later calls raise ``StorageClosed``."""


class SqliteStorage(Storage):
    """Envelopes in one SQLite file (WAL, ``synchronous=NORMAL``), or in memory (``":memory:"``).

    WAL with ``synchronous=NORMAL`` never corrupts the file and loses at most the last
    transactions on power loss, which a relay node can afford for far better write speed.
    Safe to call from any thread; calls are serialised.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # check_same_thread=False: the connection is created on the caller's thread but used
        # from the server's storage thread; the lock below guarantees one user at a time.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.Lock()
        try:
            self._setup(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def _setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{self.path} was written by a newer node (schema {version})"
            )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def __enter__(self) -> SqliteStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageClosed("the envelope storage is closed")
        return self._conn

    def insert_new(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        for envelope in envelopes:
            if not 0 <= envelope.timestamp_ns <= MAX_SQLITE_INTEGER:
                raise ValueError(f"timestamp_ns {envelope.timestamp_ns} cannot be stored")
        new: list[Envelope] = []
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for envelope in envelopes:
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO envelopes (topic, timestamp_ns, message, digest)"
                        " VALUES (?, ?, ?, ?)",
                        (envelope.topic, envelope.timestamp_ns, envelope.message, envelope.digest),
                    )
                    if cursor.rowcount == 1:
                        new.append(envelope)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return new

    def query(
        self,
        topics: Sequence[str],
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: Direction,
        cursor: PageCursor | None,
    ) -> tuple[list[Envelope], PageCursor | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        unique_topics = list(dict.fromkeys(topics))
        if not unique_topics:
            return [], None
        topic_sql, topic_params = _topic_filter(unique_topics)
        where = [topic_sql]
        params: list[object] = list(topic_params)
        if start_ns:
            where.append("timestamp_ns >= ?")
            params.append(_clamp(start_ns))
        if end_ns:
            where.append("timestamp_ns <= ?")
            params.append(_clamp(end_ns))
        ascending = direction is Direction.ASCENDING
        with self._lock:
            conn = self._connection()
            if cursor is not None:
                after_ts, after_id = self._cursor_position(
                    conn, cursor, topic_sql, topic_params, ascending
                )
                op = ">" if ascending else "<"
                where.append(f"(timestamp_ns {op} ? OR (timestamp_ns = ? AND id {op} ?))")
                params.extend((after_ts, after_ts, after_id))
            order = "ASC" if ascending else "DESC"
            # Only fixed fragments are interpolated; every value is a bound parameter.
            sql = (
                "SELECT topic, timestamp_ns, message, digest FROM envelopes"  # noqa: S608
                f" WHERE {' AND '.join(where)}"
                f" ORDER BY timestamp_ns {order}, id {order} LIMIT ?"
            )
            rows = conn.execute(sql, [*params, limit]).fetchall()
        envelopes = [Envelope(row[0], row[1], bytes(row[2])) for row in rows]
        if len(rows) < limit:
            return envelopes, None
        return envelopes, PageCursor(bytes(rows[-1][3]), rows[-1][1])

    @staticmethod
    def _cursor_position(
        conn: sqlite3.Connection,
        cursor: PageCursor,
        topic_sql: str,
        topic_params: Sequence[object],
        ascending: bool,
    ) -> tuple[int, int]:
        """(timestamp, id) strictly after which the next page starts.

        The cursor's row is looked up among the queried topics.  An unknown cursor (from
        another node, or forged) degrades to "strictly after its timestamp": the sentinel id
        makes the id comparison false for every row at that timestamp.
        """
        timestamp = _clamp(cursor.sender_time_ns)
        row = conn.execute(
            f"SELECT id FROM envelopes WHERE {topic_sql} AND timestamp_ns = ? AND digest = ?"  # noqa: S608
            " ORDER BY id LIMIT 1",
            [*topic_params, timestamp, cursor.digest],
        ).fetchone()
        if row is not None:
            return timestamp, int(row[0])
        return timestamp, (MAX_SQLITE_INTEGER if ascending else -1)

    def count(self) -> int:
        """Number of stored envelopes (diagnostics and tests)."""
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM envelopes").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()


def _clamp(value: int) -> int:
    """uint64 bounds from a request, limited to what SQLite can compare against."""
    return min(value, MAX_SQLITE_INTEGER)


def _topic_filter(topics: Iterable[str]) -> tuple[str, list[object]]:
    topic_list = list(topics)
    if len(topic_list) == 1:
        return "topic = ?", [topic_list[0]]
    if len(topic_list) <= _MAX_BOUND_TOPICS:
        return f"topic IN ({', '.join('?' * len(topic_list))})", list(topic_list)
    return "topic IN (SELECT value FROM json_each(?))", [json.dumps(topic_list)]
