"""SqliteStorage on its own: de-duplication, ordering, cursors, filters, threads, closing."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.xmtpnode.storage import (
    Direction,
    Envelope,
    PageCursor,
    SqliteStorage,
    StorageClosed,
    envelope_digest,
)

A = "/xmtp/0/m-a/proto"
B = "/xmtp/0/m-b/proto"


def test_digest_is_sha256_of_topic_then_message() -> None:
    assert envelope_digest(A, b"msg") == hashlib.sha256(A.encode() + b"msg").digest()
    assert Envelope(A, 1, b"msg").digest == envelope_digest(A, b"msg")


def test_schema_wal_and_index(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "s.sqlite3") as storage:
        conn = storage._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        index = conn.execute("PRAGMA index_info(envelopes_by_topic_time)").fetchall()
        assert [row[2] for row in index] == ["topic", "timestamp_ns", "id"]


def test_insert_deduplicates_and_counts_new_rows() -> None:
    with SqliteStorage(":memory:") as storage:
        e1, e2 = Envelope(A, 1, b"x"), Envelope(A, 2, b"x")
        assert storage.insert([e1, e1, e2]) == 2
        assert storage.insert_new([e2, Envelope(A, 1, b"y"), Envelope(B, 1, b"x")]) == [
            Envelope(A, 1, b"y"),
            Envelope(B, 1, b"x"),
        ]
        assert storage.count() == 4


def test_out_of_range_timestamp_stores_nothing() -> None:
    with SqliteStorage(":memory:") as storage:
        with pytest.raises(ValueError):
            storage.insert([Envelope(A, 1, b"ok"), Envelope(A, 2**63, b"too late")])
        assert storage.count() == 0


def test_unknown_cursor_continues_after_its_timestamp() -> None:
    with SqliteStorage(":memory:") as storage:
        storage.insert([Envelope(A, ts, b"%d" % i) for i, ts in enumerate([1, 2, 2, 3])])
        forged = PageCursor(b"\x00" * 32, 2)
        up, _ = storage.query([A], 0, 0, 10, Direction.ASCENDING, forged)
        down, _ = storage.query([A], 0, 0, 10, Direction.DESCENDING, forged)
        assert [e.timestamp_ns for e in up] == [3]
        assert [e.timestamp_ns for e in down] == [1]


def test_cursor_of_another_topic_is_unknown() -> None:
    with SqliteStorage(":memory:") as storage:
        storage.insert([Envelope(A, 5, b"a"), Envelope(B, 5, b"b"), Envelope(B, 6, b"c")])
        cursor = PageCursor(envelope_digest(A, b"a"), 5)
        rows, _ = storage.query([B], 0, 0, 10, Direction.ASCENDING, cursor)
        assert rows == [Envelope(B, 6, b"c")]


def test_huge_bounds_and_many_topics() -> None:
    with SqliteStorage(":memory:") as storage:
        storage.insert([Envelope(A, 2**63 - 1, b"last")])
        rows, _ = storage.query([A], 1, 2**64 - 1, 10, Direction.ASCENDING, None)
        assert rows == [Envelope(A, 2**63 - 1, b"last")]
        topics = [f"/t/{i}" for i in range(40_000)] + [A]
        rows, _ = storage.query(topics, 0, 0, 10, Direction.ASCENDING, None)
        assert len(rows) == 1


def test_usable_from_several_threads(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "t.sqlite3") as storage:

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


def test_closed_storage_refuses_calls() -> None:
    storage = SqliteStorage(":memory:")
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


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(envelopes_strategy, min_size=1, max_size=3),
    topics=st.lists(st.sampled_from([A, B, "/xmtp/0/m-c/proto"]), min_size=1, max_size=3),
    start=st.integers(0, 7),
    end=st.integers(0, 7),
    limit=st.integers(1, 6),
    direction=st.sampled_from(list(Direction)),
)
def test_paging_returns_every_matching_row_once_in_order(
    batches: list[list[Envelope]],
    topics: list[str],
    start: int,
    end: int,
    limit: int,
    direction: Direction,
) -> None:
    with SqliteStorage(":memory:") as storage:
        inserted: list[Envelope] = []  # unique rows in insertion (id) order
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
            key=lambda e: e.timestamp_ns,
        )
        if direction is Direction.DESCENDING:
            expected.reverse()  # (timestamp, id) descending: ties newest-inserted first

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
