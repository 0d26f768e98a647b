"""Envelopes in PostgreSQL: the store several node processes share.

Every process writes through its own connection pool and listens on one channel.  A commit
that stored or relayed envelopes sends ``NOTIFY xmtpnode_envelopes`` inside its transaction, so
PostgreSQL delivers the announcement to every listening process only if, and right after, the
transaction commits, and in commit order.  NOTIFY payloads are limited to 8,000 bytes while a
message may be 1 MB, so an announcement carries row ids ("d<id>" for stored envelopes, "e<id>"
for ephemeral ones, kept a few minutes in an unlogged table) and listeners fetch the rows; long
id lists are split over several NOTIFYs of the same transaction, which arrive in order; the
last one carries the committer's tag (``prefix|ids``), so a process knows when its own commit
has come back to it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import psycopg
import psycopg_pool
from psycopg import sql

from app.xmtpnode.storage.base import (
    Announce,
    Direction,
    Envelope,
    Listener,
    PageCursor,
    ScanKey,
    SchemaTooNew,
    Storage,
    StorageClosed,
    StorageError,
    StorageUnavailable,
    always,
    always_wanted,
    check_timestamps,
    clamp,
    nothing_lost,
    relayed,
)
from app.xmtpnode.storage.migrations import (
    POSTGRES_MIGRATION_LOCK,
    POSTGRES_STEPS,
    POSTGRES_VERSION_TABLE,
)
from app.xmtpnode.storage.pg_listen import CHANNEL, PostgresListener

log = logging.getLogger(__name__)

MAX_NOTIFY_PAYLOAD: Final = 7900
"""Below PostgreSQL's 8,000-byte NOTIFY payload limit."""
RELAY_ROW_LIFETIME_S: Final = 120
_RELAY_CLEANUP_EVERY_S: Final = 30.0
_POOL_OPEN_TIMEOUT_S: Final = 15.0
_CONNECT_TIMEOUT_S: Final = 10
_WAIT_S: Final = 5.0
"""Longest wait for a pooled connection: with the server down, requests fail (503) by then."""

_INSERT_DURABLE: Final = (
    "INSERT INTO envelopes (topic, timestamp_ns, message, digest)"
    " SELECT * FROM unnest(%s::bytea[], %s::bigint[], %s::bytea[], %s::bytea[])"
    " ON CONFLICT DO NOTHING RETURNING id, topic, timestamp_ns, digest"
)


def redacted(url: str) -> str:
    """``url`` without its password, for logs and messages."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"


class PostgresStorage(Storage):
    """Envelopes in a PostgreSQL database given by a ``postgresql://`` URL.  Thread-safe."""

    shared = True
    concurrent_reads = True

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self._pool = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="xmtpnode", timeout=_WAIT_S
        )
        self._closed = False
        self._last_cleanup = time.monotonic()
        self._listeners: list[PostgresListener] = []
        try:
            # One direct connection first: an unreachable server or a refused login fails now,
            # with PostgreSQL's reason, instead of after the pool's retries.
            with psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S) as conn:
                self._migrate(conn)
            self._pool.open(wait=True, timeout=_POOL_OPEN_TIMEOUT_S)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StorageError(f"cannot connect to {redacted(url)}") from exc
        except psycopg.OperationalError as exc:
            self._pool.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StorageError(f"cannot connect to {redacted(url)}: {reason}") from exc
        except psycopg.Error as exc:
            self._pool.close()
            raise StorageError(f"cannot open {redacted(url)}: {exc}") from exc
        except BaseException:
            self._pool.close()
            raise

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            # One node at a time: processes starting together must not both apply a step.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (POSTGRES_MIGRATION_LOCK,))
            conn.execute(POSTGRES_VERSION_TABLE)
            row = conn.execute("SELECT max(version) FROM xmtpnode_schema").fetchone()
            version = int(row[0]) if row is not None and row[0] is not None else 0
            if version > len(POSTGRES_STEPS):
                raise SchemaTooNew(
                    f"{redacted(self.url)} was written by a newer node (schema {version}, this"
                    f" node knows up to {len(POSTGRES_STEPS)})"
                )
            for number in range(version + 1, len(POSTGRES_STEPS) + 1):
                for statement in POSTGRES_STEPS[number - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("DELETE FROM xmtpnode_schema")
                conn.execute("INSERT INTO xmtpnode_schema (version) VALUES (%s)", (number,))

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in a transaction (committed on success); errors become
        ``StorageError``."""
        if self._closed:
            raise StorageClosed("the envelope storage is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg_pool.PoolClosed:
            raise StorageClosed("the envelope storage is closed") from None
        except psycopg_pool.PoolTimeout as exc:
            raise StorageUnavailable(f"no PostgreSQL connection: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL: {' '.join(str(exc).split())}") from exc
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {exc}") from exc

    def commit(
        self,
        publishes: Sequence[Sequence[Envelope]],
        keep: Callable[[Envelope], bool] = always,
        tag: str = "",
    ) -> list[list[Envelope]]:
        for envelopes in publishes:
            check_timestamps(envelopes)
        with self._connection() as conn:
            ids = _insert_durable(conn, publishes, keep)
            results = [
                relayed(envelopes, keep, [i is not None for i in row_ids])
                for envelopes, row_ids in zip(publishes, ids, strict=True)
            ]
            handles = _relay_handles(conn, publishes, keep, ids)
            for payload in _notify_payloads(handles, tag):
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            if time.monotonic() - self._last_cleanup > _RELAY_CLEANUP_EVERY_S:
                self._last_cleanup = time.monotonic()
                conn.execute(
                    "DELETE FROM relay_envelopes WHERE created_at < now() - make_interval("
                    "secs => %s)",
                    (RELAY_ROW_LIFETIME_S,),
                )
        return results

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
        unique_topics = [t.encode("utf-8") for t in topics]
        where: list[sql.Composable] = []
        params: list[object] = []
        if len(unique_topics) == 1:
            where.append(sql.SQL("topic = %s"))
            params.append(unique_topics[0])
        else:
            where.append(sql.SQL("topic = ANY(%s)"))
            params.append(unique_topics)
        if start_ns:
            where.append(sql.SQL("timestamp_ns >= %s"))
            params.append(clamp(start_ns))
        if end_ns:
            where.append(sql.SQL("timestamp_ns <= %s"))
            params.append(clamp(end_ns))
        if max_message_bytes is not None:
            where.append(sql.SQL("octet_length(message) <= %s"))
            params.append(max_message_bytes)
        ascending = direction is Direction.ASCENDING
        if cursor is not None:
            op = ">" if ascending else "<"
            where.append(sql.SQL(f"(timestamp_ns, digest) {op} (%s, %s)"))
            params.extend((clamp(cursor.sender_time_ns), cursor.digest))
        order = sql.SQL("ASC" if ascending else "DESC")
        statement = sql.SQL(
            "SELECT topic, timestamp_ns, message, digest FROM envelopes WHERE {where}"
            " ORDER BY timestamp_ns {order}, digest {order} LIMIT %s"
        ).format(where=sql.SQL(" AND ").join(where), order=order)
        with self._connection() as conn:
            rows = conn.execute(statement, [*params, limit]).fetchall()
        envelopes = [Envelope(bytes(r[0]).decode("utf-8"), r[1], bytes(r[2])) for r in rows]
        if len(rows) < limit:
            return envelopes, None
        return envelopes, PageCursor(bytes(rows[-1][3]), rows[-1][1])

    def scan(self, after: ScanKey | None, limit: int) -> list[Envelope]:
        with self._connection() as conn:
            if after is None:
                rows = conn.execute(
                    "SELECT topic, timestamp_ns, message FROM envelopes"
                    " ORDER BY topic, timestamp_ns, digest LIMIT %s",
                    (limit,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT topic, timestamp_ns, message FROM envelopes"
                    " WHERE (topic, timestamp_ns, digest) > (%s, %s, %s)"
                    " ORDER BY topic, timestamp_ns, digest LIMIT %s",
                    (after[0].encode("utf-8"), after[1], after[2], limit),
                ).fetchall()
        return [Envelope(bytes(r[0]).decode("utf-8"), r[1], bytes(r[2])) for r in rows]

    def topic_counts(self) -> dict[str, int]:
        with self._connection() as conn:
            rows = conn.execute("SELECT topic, count(*) FROM envelopes GROUP BY topic").fetchall()
        return {bytes(r[0]).decode("utf-8"): int(r[1]) for r in rows}

    def copy_in(self, envelopes: Sequence[Envelope], source: str, last: ScanKey) -> int:
        check_timestamps(envelopes)
        with self._connection() as conn:
            [ids] = _insert_durable(conn, [envelopes], always)
            conn.execute(
                "INSERT INTO copy_positions (source, topic, timestamp_ns, digest)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (source) DO UPDATE SET"
                " topic = excluded.topic, timestamp_ns = excluded.timestamp_ns,"
                " digest = excluded.digest",
                (source, last[0].encode("utf-8"), last[1], last[2]),
            )
        return sum(i is not None for i in ids)

    def copy_position(self, source: str) -> ScanKey | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT topic, timestamp_ns, digest FROM copy_positions WHERE source = %s",
                (source,),
            ).fetchone()
        return None if row is None else (bytes(row[0]).decode("utf-8"), row[1], bytes(row[2]))

    def count(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT count(*) FROM envelopes").fetchone()
        return 0 if row is None else int(row[0])

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1").fetchone()

    def listen(
        self,
        announce: Announce,
        wanted: Callable[[], bool] = always_wanted,
        lost: Callable[[bool], None] = nothing_lost,
    ) -> Listener | None:
        if self._closed:
            raise StorageClosed("the envelope storage is closed")
        try:
            listener = PostgresListener(self.url, announce, wanted, lost)
        except psycopg.Error as exc:
            raise StorageError(f"cannot listen on {redacted(self.url)}: {exc}") from exc
        self._listeners.append(listener)
        return listener

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for listener in self._listeners:
            listener.close()
        self._pool.close()


def _insert_durable(
    conn: psycopg.Connection[Any],
    publishes: Sequence[Sequence[Envelope]],
    keep: Callable[[Envelope], bool],
) -> list[list[int | None]]:
    """Insert every kept envelope in one statement; per envelope, its new row id or None."""
    kept = [e for envelopes in publishes for e in envelopes if keep(e)]
    returned: dict[tuple[bytes, int, bytes], int] = {}
    if kept:
        columns: tuple[list[bytes], list[int], list[bytes], list[bytes]] = ([], [], [], [])
        for envelope in kept:
            columns[0].append(envelope.topic.encode("utf-8"))
            columns[1].append(envelope.timestamp_ns)
            columns[2].append(envelope.message)
            columns[3].append(envelope.digest)
        for row in conn.execute(_INSERT_DURABLE, columns).fetchall():
            returned[(bytes(row[1]), row[2], bytes(row[3]))] = row[0]
    ids: list[list[int | None]] = []
    for envelopes in publishes:
        # The first occurrence of a new key claims its row; repeats are duplicates.
        ids.append(
            [
                returned.pop((e.topic.encode("utf-8"), e.timestamp_ns, e.digest), None)
                if keep(e)
                else None
                for e in envelopes
            ]
        )
    return ids


def _relay_handles(
    conn: psycopg.Connection[Any],
    publishes: Sequence[Sequence[Envelope]],
    keep: Callable[[Envelope], bool],
    ids: Sequence[Sequence[int | None]],
) -> list[str]:
    """Announcement handles in relay order: "d<id>" per new envelope, "e<id>" per ephemeral
    one (stored for the listeners in ``relay_envelopes``)."""
    handles: list[str] = []
    for envelopes, row_ids in zip(publishes, ids, strict=True):
        for envelope, row_id in zip(envelopes, row_ids, strict=True):
            if row_id is not None:
                handles.append(f"d{row_id}")
            elif not keep(envelope):
                row = conn.execute(
                    "INSERT INTO relay_envelopes (topic, timestamp_ns, message)"
                    " VALUES (%s, %s, %s) RETURNING id",
                    (envelope.topic.encode("utf-8"), envelope.timestamp_ns, envelope.message),
                ).fetchone()
                if row is None:  # pragma: no cover - RETURNING always answers a row
                    raise StorageError("PostgreSQL returned no id for a relayed envelope")
                handles.append(f"e{row[0]}")
    return handles


def _notify_payloads(handles: Sequence[str], tag: str) -> list[str]:
    """``prefix|handle,handle,…`` payloads of at most ``MAX_NOTIFY_PAYLOAD`` bytes; the last
    one's prefix is ``tag``, the others' is empty (the tag marks the announcement complete)."""
    budget = MAX_NOTIFY_PAYLOAD - len(tag) - 1
    chunks: list[list[str]] = []
    size = budget + 1
    for handle in handles:
        if size + len(handle) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(handle)
        size += len(handle) + 1
    last = len(chunks) - 1
    return [f"{tag if i == last else ''}|{','.join(chunk)}" for i, chunk in enumerate(chunks)]
