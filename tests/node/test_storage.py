"""Each storage backend on its own: de-duplication, ordering, cursors, filters, threads,
closing, schema versions.  ``storage_factory`` runs every test on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.xmtpnode.storage import (
    Direction,
    Envelope,
    PageCursor,
    SchemaTooNew,
    SqliteStorage,
    Storage,
    StorageClosed,
    envelope_digest,
    open_storage,
)
from tests.support.postgres import PostgresServer

Factory = Callable[[], Storage]

A = "/xmtp/0/m-a/proto"
B = "/xmtp/0/m-b/proto"


def test_digest_is_sha256_of_topic_then_message() -> None:
    assert envelope_digest(A, b"msg") == hashlib.sha256(A.encode() + b"msg").digest()
    assert Envelope(A, 1, b"msg").digest == envelope_digest(A, b"msg")


def test_sqlite_schema_wal_and_index(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "s.sqlite3") as storage:
        conn = storage.raw_connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        [(unique_index,)] = conn.execute(
            "SELECT name FROM pragma_index_list('envelopes') WHERE \"unique\""
        ).fetchall()
        index = conn.execute(f"PRAGMA index_info({unique_index})").fetchall()
        assert [row[2] for row in index] == ["topic", "timestamp_ns", "digest"]
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM envelopes WHERE topic = ?"
            " ORDER BY timestamp_ns DESC, digest DESC LIMIT 5",
            ("/t",),
        ).fetchall()
        assert "USING INDEX" in plan[0][3] and "TEMP B-TREE" not in str(plan)


def test_sqlite_checkpoints_off_the_commit_path(tmp_path: Path) -> None:
    """Commits never checkpoint (that fsync stalled every publish waiting on the commit); the
    checkpoint thread copies committed pages into the database file, and stops on close."""
    path = tmp_path / "s.sqlite3"
    with SqliteStorage(path) as storage:
        conn = storage.raw_connection()
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        size_before = path.stat().st_size
        big = [[Envelope(A, n, bytes(4000))] for n in range(2000)]  # ~2,000 pages of WAL
        storage.commit(big)
        assert path.stat().st_size == size_before  # nothing copied by the commit itself
        deadline = time.monotonic() + 10
        while path.stat().st_size < size_before + 4_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= size_before + 4_000_000
    assert not [t for t in threading.enumerate() if t.name == "xmtpnode-checkpoint"]
    with SqliteStorage(path) as storage:
        assert storage.count() == 2000


def test_postgres_query_plan_uses_the_unique_index(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    with open_storage(url) as storage:
        storage.insert([Envelope(f"/t/{i % 50}", i, b"%d" % i) for i in range(5000)])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE envelopes")
        for order in ("ASC", "DESC"):
            plan = conn.execute(
                "EXPLAIN SELECT * FROM envelopes WHERE topic = %s AND"  # noqa: S608
                f" (timestamp_ns, digest) < (%s, %s) ORDER BY timestamp_ns {order},"
                f" digest {order} LIMIT 5",
                (b"/t/3", 4000, b"\xff"),
            ).fetchall()
            text = "\n".join(row[0] for row in plan)
            assert "envelopes_unique" in text and "Sort" not in text, text


def test_sqlite_version_1_database_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema nodes wrote before versioned migrations
        conn.executescript(
            "CREATE TABLE envelopes (id INTEGER PRIMARY KEY, topic TEXT NOT NULL,"
            " timestamp_ns INTEGER NOT NULL, message BLOB NOT NULL, digest BLOB NOT NULL,"
            " UNIQUE (topic, timestamp_ns, digest));"
            " CREATE INDEX envelopes_by_topic_time ON envelopes (topic, timestamp_ns, id);"
            " PRAGMA user_version = 1;"
        )
        conn.execute(
            "INSERT INTO envelopes (topic, timestamp_ns, message, digest) VALUES (?, ?, ?, ?)",
            ("/t", 5, b"old", envelope_digest("/t", b"old")),
        )
    conn.close()
    with SqliteStorage(path) as storage:
        assert storage.query(["/t"], 0, 0, 5, Direction.ASCENDING, None)[0] == [
            Envelope("/t", 5, b"old")
        ]
        names = {row[0] for row in storage.raw_connection().execute("PRAGMA index_list(envelopes)")}
        assert "envelopes_by_topic_time" not in names


def test_newer_schema_is_refused(storage_factory: Factory, db_spec: str, backend: str) -> None:
    storage_factory().close()  # create the schema at today's version
    if backend == "sqlite":
        with sqlite3.connect(db_spec) as conn:
            conn.execute("PRAGMA user_version = 99")
        conn.close()
    else:
        with psycopg.connect(db_spec, autocommit=True) as pg:
            pg.execute("UPDATE xmtpnode_schema SET version = 99")
    with pytest.raises(SchemaTooNew, match="newer node"):
        open_storage(db_spec)


def test_insert_deduplicates_and_counts_new_rows(storage_factory: Factory) -> None:
    with storage_factory() as storage:
        e1, e2 = Envelope(A, 1, b"x"), Envelope(A, 2, b"x")
        assert storage.insert([e1, e1, e2]) == 2
        assert storage.insert_new([e2, Envelope(A, 1, b"y"), Envelope(B, 1, b"x")]) == [
            Envelope(A, 1, b"y"),
            Envelope(B, 1, b"x"),
        ]
        assert storage.count() == 4


def test_out_of_range_timestamp_stores_nothing(storage_factory: Factory) -> None:
    with storage_factory() as storage:
        with pytest.raises(ValueError):
            storage.insert([Envelope(A, 1, b"ok"), Envelope(A, 2**63, b"too late")])
        assert storage.count() == 0


def test_any_cursor_continues_strictly_after_its_position(storage_factory: Factory) -> None:
    with storage_factory() as storage:
        storage.insert([Envelope(A, ts, b"%d" % i) for i, ts in enumerate([1, 2, 2, 3])])
        for digest in (b"\x00" * 32, b"\xff" * 32):  # forged: before / after both ts-2 rows
            forged = PageCursor(digest, 2)
            up, _ = storage.query([A], 0, 0, 10, Direction.ASCENDING, forged)
            down, _ = storage.query([A], 0, 0, 10, Direction.DESCENDING, forged)
            at_two = 2 if digest[0] == 0 else 0
            assert [e.timestamp_ns for e in up] == [2] * at_two + [3]
            assert [e.timestamp_ns for e in down] == [2] * (2 - at_two) + [1]


def test_cursor_of_another_topic_is_a_position(storage_factory: Factory) -> None:
    with storage_factory() as storage:
        storage.insert([Envelope(A, 5, b"a"), Envelope(B, 6, b"c")])
        rows, _ = storage.query([B], 0, 0, 10, Direction.ASCENDING, PageCursor(b"\xff" * 32, 5))
        assert rows == [Envelope(B, 6, b"c")]


def test_huge_bounds_and_many_topics(storage_factory: Factory) -> None:
    with storage_factory() as storage:
        storage.insert([Envelope(A, 2**63 - 1, b"last")])
        rows, _ = storage.query([A], 1, 2**64 - 1, 10, Direction.ASCENDING, None)
        assert rows == [Envelope(A, 2**63 - 1, b"last")]
        topics = [f"/t/{i}" for i in range(40_000)] + [A]
        rows, _ = storage.query(topics, 0, 0, 10, Direction.ASCENDING, None)
        assert len(rows) == 1


def test_usable_from_several_threads(storage_factory: Factory) -> None:
    with storage_factory() as storage:

        def work(n: int) -> None:
            for i in range(50):
                storage.insert([Envelope(A, i, b"%d-%d" % (n, i))])
                storage.query([A], 0, 0, 5, Direction.DESCENDING, None)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert storage.count() == 200


def test_group_commit_deduplicates_across_publishes_and_keeps_order(
    storage_factory: Factory,
) -> None:
    with storage_factory() as storage:
        x, y, relay_only = Envelope(A, 1, b"x"), Envelope(B, 2, b"y"), Envelope(B, 3, b"e")
        result = storage.commit([[x, relay_only], [x, y], [y]], keep=lambda e: e != relay_only)
        assert result == [[x, relay_only], [y], []]
        assert storage.topic_counts() == {A: 1, B: 1}
        assert storage.ping() is None


def test_closed_storage_refuses_calls(storage_factory: Factory) -> None:
    storage = storage_factory()
    storage.close()
    storage.close()
    with pytest.raises(StorageClosed):
        storage.insert([Envelope(A, 1, b"x")])
    with pytest.raises(StorageClosed):
        storage.query([A], 0, 0, 1, Direction.ASCENDING, None)


envelopes_strategy = st.lists(
    st.builds(
        Envelope,
        topic=st.sampled_from([A, B, "/xmtp/0/m-c/proto"]),
        timestamp_ns=st.integers(1, 6),
        message=st.binary(max_size=2),
    ),
    max_size=40,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(envelopes_strategy, min_size=1, max_size=3),
    topics=st.lists(st.sampled_from([A, B, "/xmtp/0/m-c/proto"]), min_size=1, max_size=3),
    start=st.integers(0, 7),
    end=st.integers(0, 7),
    limit=st.integers(1, 6),
    direction=st.sampled_from(list(Direction)),
)
def test_paging_returns_every_matching_row_once_in_order(
    storage_factory: Factory,
    batches: list[list[Envelope]],
    topics: list[str],
    start: int,
    end: int,
    limit: int,
    direction: Direction,
) -> None:
    storage = _cleared(storage_factory)
    inserted: list[Envelope] = []
    for batch in batches:
        storage.insert(batch)
        for envelope in batch:
            if envelope not in inserted:
                inserted.append(envelope)
    expected = sorted(
        (
            e
            for e in inserted
            if e.topic in topics
            and (not start or e.timestamp_ns >= start)
            and (not end or e.timestamp_ns <= end)
        ),
        key=lambda e: (e.timestamp_ns, e.digest),
    )
    if direction is Direction.DESCENDING:
        expected.reverse()

    pages: list[list[Envelope]] = []
    cursor: PageCursor | None = None
    while True:
        page, cursor = storage.query(topics, start, end, limit, direction, cursor)
        pages.append(page)
        if cursor is None:
            break
        assert len(page) == limit
        assert cursor == PageCursor(page[-1].digest, page[-1].timestamp_ns)
        assert len(pages) <= len(expected) + 1
    assert len(pages[-1]) < limit
    assert [e for page in pages for e in page] == expected


_shared: dict[int, Storage] = {}


def _cleared(storage_factory: Factory) -> Storage:
    """One store per test (opened on first use), emptied for each hypothesis example."""
    key = id(storage_factory)
    if key not in _shared:
        _shared.clear()
        _shared[key] = storage_factory()
    storage = _shared[key]
    if isinstance(storage, SqliteStorage):
        storage.raw_connection().execute("DELETE FROM envelopes")
    else:
        with psycopg.connect(storage.url, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute("TRUNCATE envelopes")
    return storage


def test_postgres_announces_commits_in_order_beyond_the_notify_limit(
    postgres_server: PostgresServer,
) -> None:
    """3,000 ids need several NOTIFY payloads; a 1 MB message cannot be one; both arrive."""
    url = postgres_server.new_database()
    heard: list[Envelope] = []
    tags_heard: list[str] = []
    done = threading.Event()
    many = [Envelope(A, i, b"%d" % i) for i in range(3000)]
    big = Envelope(B, 1, b"\x01" * 1_048_214)
    relay_only = Envelope(B, 2, b"ephemeral " * 2000)

    sentinel = Envelope(A, 10**6, b"last")

    def announce(envelopes: list[Envelope], tags: list[str]) -> None:
        heard.extend(envelopes)
        tags_heard.extend(tags)
        if heard[-1] == sentinel:
            done.set()

    with open_storage(url) as writer, open_storage(url) as reader:
        listener = reader.listen(announce)
        assert listener is not None
        writer.commit(
            [many[:1000], [big, relay_only], many[1000:]], keep=lambda e: e != relay_only, tag="t1"
        )
        writer.insert(many)  # all repeats: nothing new, nothing announced
        writer.commit([[sentinel]], tag="t3")
        assert done.wait(20)
        listener.close()
    assert heard == [*many[:1000], big, relay_only, *many[1000:], sentinel]
    assert tags_heard == ["t1", "t3"]  # once per announced commit, when it is complete
