"""Group commit: concurrent publishes share transactions, and none is acknowledged before its
transaction has committed; one failing publish does not fail the others of its group.

The stores are the real backends, subclassed only to record each ``commit`` call (and, for the
failure case, to inject a fault the real database would not produce on demand).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp
import psycopg
import pytest

from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.server import NodeServer
from app.xmtpnode.storage import Envelope, SqliteStorage, Storage, StorageError
from app.xmtpnode.storage.base import always
from app.xmtpnode.storage.postgres import PostgresStorage
from tests.support.message_api import envelope_json, publish
from tests.support.postgres import PostgresServer

T0 = 1_700_000_000_000_000_000
TOPIC = "/xmtp/0/m-" + "d" * 64 + "/proto"
POISON = b"fails in a group"


def _recording(base: type[SqliteStorage] | type[PostgresStorage]) -> type:
    class Recording(base):  # type: ignore[misc,valid-type]
        """Records the size of every transaction; fails any holding a POISON envelope."""

        groups: list[int]

        def commit(
            self,
            publishes: Sequence[Sequence[Envelope]],
            keep: Callable[[Envelope], bool] = always,
            tag: str = "",
        ) -> list[list[Envelope]]:
            self.groups = [*getattr(self, "groups", []), len(publishes)]
            if any(e.message == POISON for p in publishes for e in p):
                raise StorageError("injected failure")
            result: list[list[Envelope]] = super().commit(publishes, keep, tag)
            return result

    return Recording


def _committed_count(backend: str, db: str) -> int:
    """Rows visible to an independent connection: what has really been committed."""
    if backend == "sqlite":
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM envelopes").fetchone()[0])
    with psycopg.connect(db) as pg:
        row = pg.execute("SELECT count(*) FROM envelopes").fetchone()
        return 0 if row is None else int(row[0])


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_concurrent_publishes_are_grouped_and_acknowledged_after_commit(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    http: aiohttp.ClientSession,
    alice_token: str,
) -> None:
    if backend == "sqlite":
        db = str(tmp_path / "g.sqlite3")
        storage = _recording(SqliteStorage)(db)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = server.new_database()
        storage = _recording(PostgresStorage)(db)
    node = NodeServer(storage, owns_storage=True)
    url = await node.start()
    try:
        committed_at_ack: list[int] = []

        async def one(i: int) -> None:
            reply = await publish(http, url, alice_token, envelope_json(TOPIC, T0 + i, b"%d" % i))
            assert reply.status == 200
            committed_at_ack.append(await asyncio.to_thread(_committed_count, backend, db))

        await asyncio.gather(*(one(i) for i in range(200)))
        # Every acknowledgement came after its envelope was committed (counts only grow, so
        # the k-th acknowledgement saw at least k committed rows).
        assert all(seen >= k for k, seen in enumerate(sorted(committed_at_ack), start=1))
        assert sum(storage.groups) == 200
        assert max(storage.groups) > 1, storage.groups
        assert len(storage.groups) < 200

        # A poisoned publish fails alone: its group is retried one by one.
        replies = await asyncio.gather(
            *(
                publish(
                    http,
                    url,
                    alice_token,
                    envelope_json(TOPIC, T0 + 1000 + i, POISON if i == 5 else b"ok%d" % i),
                )
                for i in range(20)
            )
        )
        assert sorted(r.status for r in replies) == [200] * 19 + [500]
        assert replies[5].status == 500
        assert storage.count() == 219
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_ping_reports_the_store(storage_factory: Callable[[], Storage]) -> None:
    storage = storage_factory()
    dispatcher = StorageDispatcher(storage, keep=always)
    try:
        await dispatcher.ping()
        storage.close()
        with pytest.raises(ApiError) as refused:
            await dispatcher.ping()
        assert refused.value.code is GrpcCode.UNAVAILABLE
    finally:
        await dispatcher.close()
