"""Envelopes in one SQLite file: the embedded default of the node.

SQLite itself is synchronous; the server runs these calls off its event loop.  Writes go
through one connection behind a lock (SQLite serialises writers anyway); throughput comes from
group commit: the server hands ``commit`` every publish waiting at that moment, and they share
one transaction.  Reads of a file database use one connection per reader thread, which WAL
lets run beside the writer and each other; a ``:memory:`` database exists only inside the
connection that created it, so there everything shares that one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from app.keyengine.files import make_private_dir
from app.xmtpnode.storage.base import (
    Direction,
    Envelope,
    PageCursor,
    ScanKey,
    SchemaTooNew,
    Storage,
    StorageClosed,
    StorageError,
    always,
    check_timestamps,
    clamp,
    relayed,
)
from app.xmtpnode.storage.checkpoints import Checkpointer
from app.xmtpnode.storage.migrations import SQLITE_STEPS

# Up to this many topics are bound as individual parameters (SQLite allows 32766); longer
# lists go in as one JSON array so a huge multi-topic query cannot hit that limit.
_MAX_BOUND_TOPICS: Final = 500
_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


def create_private_file(path: Path) -> None:
    """Create ``path`` if missing (and missing parent directories) for its owner only.

    Parents the node creates are 0700 and the file 0600; SQLite gives its WAL companions the
    file's mode.
    """
    if not path.parent.exists():  # an existing directory given by the operator is theirs
        make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def tighten_database_files(path: Path) -> None:
    """An existing node database (and its WAL companions) made 0600 if it was looser.

    Only called once the file has proven to be a node database, never on any file a
    mistyped path might name.
    """
    for candidate in (path, *(path.with_name(path.name + s) for s in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            info = candidate.stat()
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                candidate.chmod(0o600)


class SqliteStorage(Storage):
    """Envelopes in one SQLite file (WAL, ``synchronous=NORMAL``), or in memory (``":memory:"``).

    WAL with ``synchronous=NORMAL`` never corrupts the file and loses at most the last
    transactions on power loss, which a relay node can afford for far better write speed.
    Safe to call from any thread; calls are serialised.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            if self.path != ":memory:":
                create_private_file(Path(self.path))
            # check_same_thread=False: the connection is created on the caller's thread but
            # used from the server's storage threads; the lock guarantees one user at a time.
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open {self.path}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()
        self._checkpointer: Checkpointer | None = None
        self.concurrent_reads = self.path != ":memory:"
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []  # every thread's, closed with the store
        try:
            self._setup(conn)
            if self.path != ":memory:":
                tighten_database_files(Path(self.path))
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # ``checkpoints`` does them
                self._checkpointer = Checkpointer(self.path)
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(f"cannot open {self.path}: {exc}") from exc
        except OSError as exc:
            conn.close()
            raise StorageError(f"cannot open {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise

    def _setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(SQLITE_STEPS):
            raise SchemaTooNew(
                f"{self.path} was written by a newer node (schema {version}, this node knows"
                f" up to {len(SQLITE_STEPS)})"
            )
        for number in range(version + 1, len(SQLITE_STEPS) + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in SQLITE_STEPS[number - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, held exclusively; engine errors become ``StorageError``."""
        with self._lock:
            if self._conn is None:
                raise StorageClosed("the envelope storage is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite: {exc}") from exc

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading: this thread's own (file databases), else the shared one."""
        if not self.concurrent_reads:
            with self._connection() as shared:
                yield shared
            return
        if self._conn is None:
            raise StorageClosed("the envelope storage is closed")
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = self._local.conn = self._open_reader()
            yield conn
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite: {exc}") from exc

    def _open_reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA query_only = ON")
        with self._lock:
            if self._conn is None:  # closed meanwhile
                conn.close()
                raise StorageClosed("the envelope storage is closed")
            self._readers.append(conn)
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def commit(
        self,
        publishes: Sequence[Sequence[Envelope]],
        keep: Callable[[Envelope], bool] = always,
        tag: str = "",
    ) -> list[list[Envelope]]:
        for envelopes in publishes:
            check_timestamps(envelopes)
        rows = [e for envelopes in publishes for e in envelopes if keep(e)]
        with self._transaction() as conn:
            # All rows in a few multi-row statements: each statement hands the GIL to the event
            # loop and waits to get it back, so one statement per row made a group of 64 take
            # ~6 ms.  If some rows were there already (rare: an SDK retry, not relayed again),
            # the group goes again row by row to learn which.
            conn.execute("SAVEPOINT grouped")
            if _insert_rows(conn, rows) == len(rows):
                conn.execute("RELEASE grouped")
                return [list(envelopes) for envelopes in publishes]
            conn.execute("ROLLBACK TO grouped")
            conn.execute("RELEASE grouped")
            return [
                relayed(
                    envelopes, keep, [keep(e) and _insert_rows(conn, [e]) == 1 for e in envelopes]
                )
                for envelopes in publishes
            ]

    def _query_page(
        self,
        topics: list[str],
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: Direction,
        cursor: PageCursor | None,
        max_message_bytes: int | None,
    ) -> tuple[list[Envelope], PageCursor | None]:
        topic_sql, topic_params = _topic_filter(topics)
        where = [topic_sql]
        params: list[object] = list(topic_params)
        if start_ns:
            where.append("timestamp_ns >= ?")
            params.append(clamp(start_ns))
        if end_ns:
            where.append("timestamp_ns <= ?")
            params.append(clamp(end_ns))
        if max_message_bytes is not None:
            where.append("length(message) <= ?")
            params.append(max_message_bytes)
        ascending = direction is Direction.ASCENDING
        if cursor is not None:
            op = ">" if ascending else "<"
            where.append(f"(timestamp_ns, digest) {op} (?, ?)")
            params.extend((clamp(cursor.sender_time_ns), cursor.digest))
        order = "ASC" if ascending else "DESC"
        # Only fixed fragments are interpolated; every value is a bound parameter.
        sql = (
            "SELECT topic, timestamp_ns, message, digest FROM envelopes"  # noqa: S608
            f" WHERE {' AND '.join(where)}"
            f" ORDER BY timestamp_ns {order}, digest {order} LIMIT ?"
        )
        with self._read() as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        envelopes = [Envelope(row[0], row[1], bytes(row[2])) for row in rows]
        if len(rows) < limit:
            return envelopes, None
        return envelopes, PageCursor(bytes(rows[-1][3]), rows[-1][1])

    def scan(self, after: ScanKey | None, limit: int) -> list[Envelope]:
        sql = "SELECT topic, timestamp_ns, message FROM envelopes"
        params: list[object] = []
        if after is not None:
            sql += " WHERE (topic, timestamp_ns, digest) > (?, ?, ?)"
            params.extend(after)
        sql += " ORDER BY topic, timestamp_ns, digest LIMIT ?"
        with self._read() as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return [Envelope(row[0], row[1], bytes(row[2])) for row in rows]

    def topic_counts(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute("SELECT topic, count(*) FROM envelopes GROUP BY topic").fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    def copy_in(self, envelopes: Sequence[Envelope], source: str, last: ScanKey) -> int:
        check_timestamps(envelopes)
        with self._transaction() as conn:
            new = _insert_rows(conn, envelopes)
            conn.execute(
                "INSERT OR REPLACE INTO copy_positions (source, topic, timestamp_ns, digest)"
                " VALUES (?, ?, ?, ?)",
                (source, *last),
            )
        return new

    def copy_position(self, source: str) -> ScanKey | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT topic, timestamp_ns, digest FROM copy_positions WHERE source = ?",
                (source,),
            ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), bytes(row[2]))

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM envelopes").fetchone()[0])

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute("SELECT 1").fetchone()

    def raw_connection(self) -> sqlite3.Connection:
        """The connection itself, for tests that inspect the schema (not for concurrent use)."""
        if self._conn is None:
            raise StorageClosed("the envelope storage is closed")
        return self._conn

    def close(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        with self._lock:
            readers, self._readers = self._readers, []
            for reader in readers:
                reader.close()
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()  # the last connection to close checkpoints what is left


_ROWS_PER_STATEMENT: Final = 64
"""Rows per multi-row INSERT (256 parameters); sizes 1..64 fit the statement cache."""


def _insert_rows(conn: sqlite3.Connection, envelopes: Sequence[Envelope]) -> int:
    """Insert envelopes not stored yet; return how many were new."""
    new = 0
    for start in range(0, len(envelopes), _ROWS_PER_STATEMENT):
        chunk = envelopes[start : start + _ROWS_PER_STATEMENT]
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        params = [v for e in chunk for v in (e.topic, e.timestamp_ns, e.message, e.digest)]
        cursor = conn.execute(
            "INSERT OR IGNORE INTO envelopes (topic, timestamp_ns, message, digest)"  # noqa: S608
            f" VALUES {values}",
            params,
        )
        new += cursor.rowcount
    return new


def _topic_filter(topics: Iterable[str]) -> tuple[str, list[object]]:
    topic_list = list(topics)
    if len(topic_list) == 1:
        return "topic = ?", [topic_list[0]]
    if len(topic_list) <= _MAX_BOUND_TOPICS:
        return f"topic IN ({', '.join('?' * len(topic_list))})", list(topic_list)
    return "topic IN (SELECT value FROM json_each(?))", [json.dumps(topic_list)]
