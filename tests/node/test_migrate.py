"""``node migrate``: SQLite ↔ PostgreSQL copies, exact, resumable, verified per topic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from app.xmtpnode.migrate import copy_store, source_id
from app.xmtpnode.storage import Envelope, Storage, open_storage
from tests.support.node_process import REPO_ROOT
from tests.support.postgres import PostgresServer

ENVELOPES = 100_000
TOPICS = 1_000


def _fixture_envelopes() -> Iterator[list[Envelope]]:
    """100,000 envelopes over 1,000 topics in batches; shared timestamps, varied sizes."""
    batch: list[Envelope] = []
    for i in range(ENVELOPES):
        topic = f"/xmtp/0/m-{i % TOPICS:064x}/proto"
        message = (b"%d:" % i) + bytes([i % 256]) * (i % 97)
        batch.append(Envelope(topic, 1_700_000_000_000_000_000 + i // 3, message))
        if len(batch) == 5000:
            yield batch
            batch = []
    if batch:
        yield batch


def _everything(storage: Storage) -> list[Envelope]:
    rows: list[Envelope] = []
    while page := storage.scan(rows[-1].scan_key if rows else None, 20_000):
        rows += page
    return rows


def test_round_trip_sqlite_postgres_sqlite_is_exact(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    original_path, final_path = tmp_path / "original.sqlite3", tmp_path / "final.sqlite3"
    url = postgres_server.new_database()
    with open_storage(original_path) as original:
        for batch in _fixture_envelopes():
            original.insert(batch)
        assert original.count() == ENVELOPES
        with open_storage(url) as middle:
            report = copy_store(original, middle, source_id(original_path))
            assert (report.copied, report.new, report.topics) == (ENVELOPES, ENVELOPES, TOPICS)
            assert report.verified
            with open_storage(final_path) as final:
                back = copy_store(middle, final, source_id(url))
                assert back.verified and back.new == ENVELOPES
                expected = _everything(original)
                assert len(expected) == ENVELOPES
                assert _everything(middle) == expected
                assert _everything(final) == expected
                assert final.topic_counts() == original.topic_counts()


def test_interrupted_copy_resumes_where_it_stopped(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    envelopes = [Envelope(f"/t/{i % 7}", i, b"%d" % i) for i in range(1000)]
    with open_storage(tmp_path / "s.sqlite3") as source, open_storage(url) as target:
        source.insert(envelopes)
        first = copy_store(source, target, "src", batch=100, max_batches=3)
        assert (first.copied, first.resumed, first.verified) == (300, False, True)
        assert target.count() == 300
        rest = copy_store(source, target, "src", batch=100)
        assert (rest.copied, rest.new, rest.resumed, rest.verified) == (700, 700, True, True)
        again = copy_store(source, target, "src", batch=100)
        assert (again.copied, again.verified) == (0, True)
        # Lost rows in the target are found by the per-topic counts.
        with target._connection() as conn:  # type: ignore[attr-defined]
            conn.execute("DELETE FROM envelopes WHERE timestamp_ns < 10")
        assert copy_store(source, target, "src").short_topics != {}


def _migrate(source: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "node", "migrate", "--from", source, "--to", target],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_command_both_ways(tmp_path: Path, postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    with open_storage(tmp_path / "a.sqlite3") as source:
        source.insert([Envelope(f"/t/{i % 3}", i, b"x%d" % i) for i in range(50)])
    there = _migrate(str(tmp_path / "a.sqlite3"), url)
    assert there.returncode == 0, there.stderr
    assert "copied 50 envelopes, 50 new in the target; 3 topics verified" in there.stdout
    back = _migrate(url, str(tmp_path / "b.sqlite3"))
    assert back.returncode == 0, back.stderr
    with open_storage(tmp_path / "b.sqlite3") as copy:
        assert copy.topic_counts() == {"/t/0": 17, "/t/1": 17, "/t/2": 16}
    missing = _migrate(str(tmp_path / "nope.sqlite3"), url)
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        f"no node database at {tmp_path / 'nope.sqlite3'}",
    )
    unreachable = _migrate(str(tmp_path / "a.sqlite3"), "postgresql://nobody@127.0.0.1:1/x")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("migration failed: cannot connect")
