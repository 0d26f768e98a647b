"""Several node processes on one PostgreSQL database form one network.

Real processes (``python -m app.xmtpnode --db postgresql://…``) on loopback ports: a publish
accepted by one process streams to the subscribers of another, in commit order, and queries
on any process see it; killing a process with SIGKILL loses nothing it acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.node.test_stream import subscribe
from tests.support.message_api import envelope_json, post, publish
from tests.support.node_process import NodeProcess
from tests.support.postgres import PostgresServer

T0 = 1_700_000_000_000_000_000
TOPIC = "/xmtp/0/m-" + "c" * 64 + "/proto"
EPHEMERAL = "/xmtp/0/mE-" + "c" * 64 + "/proto"


@pytest.fixture
def pair(postgres_server: PostgresServer) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    url = postgres_server.new_database()
    with NodeProcess(url) as a, NodeProcess(url) as b:
        yield a, b


async def _all_stored(
    http: aiohttp.ClientSession, url: str, topics: list[str]
) -> list[dict[str, Any]]:
    """Every envelope on ``topics``, page after page (ascending)."""
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"contentTopics": topics, "pagingInfo": {"limit": 100, "direction": 1}}
    for _ in range(10_000):
        reply = await post(http, url, "/message/v1/query", body)
        assert reply.status == 200, reply.text
        page = reply.json
        rows += page["envelopes"]
        cursor = page["pagingInfo"]["cursor"]
        if cursor is None:
            return rows
        body["pagingInfo"]["cursor"] = cursor
    raise AssertionError("paging did not end")


@pytest.mark.asyncio
async def test_publish_on_one_process_streams_and_queries_on_another(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession, alice_token: str
) -> None:
    a, b = pair
    big = envelope_json(TOPIC, T0 + 1, bytes(range(256)) * 800)  # 200 kB, NOTIFY allows 8 kB
    many = [envelope_json(TOPIC, T0 + 10 + i, b"%d" % i) for i in range(500)]
    async with subscribe(http, b.url, [TOPIC, EPHEMERAL]) as on_b:
        first = envelope_json(TOPIC, T0, b"from A")
        ephemeral = envelope_json(EPHEMERAL, T0, b"typing")
        assert (await publish(http, a.url, alice_token, first, ephemeral)).status == 200
        assert await on_b.next(10) == first
        assert await on_b.next(10) == ephemeral
        assert (await publish(http, a.url, alice_token, big)).status == 200
        assert await on_b.next(10) == big
        # A repeat (SDK retry) is not relayed again; a batch arrives whole and in order.
        assert (await publish(http, a.url, alice_token, first, *many)).status == 200
        assert [await on_b.next(10) for _ in many] == many
        # Publishes through B reach B's own subscribers through the same channel.
        last = envelope_json(TOPIC, T0 + 5000, b"from B")
        assert (await publish(http, b.url, alice_token, last)).status == 200
        assert await on_b.next(10) == last
    on_b_rows = await _all_stored(http, b.url, [TOPIC])
    assert on_b_rows == [first, big, *many, last]
    assert await _all_stored(http, a.url, [TOPIC]) == on_b_rows


@pytest.mark.asyncio
async def test_sigkill_during_load_loses_nothing_acknowledged(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession, alice_token: str
) -> None:
    a, b = pair
    topics = [f"/xmtp/0/m-{i:064x}/proto" for i in range(8)]
    acknowledged: list[dict[str, Any]] = []
    attempts = 0
    deadline = time.monotonic() + 20

    async def worker(index: int) -> None:
        nonlocal attempts
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as own:
            for n in range(200):  # bounded: at most 32 × 200 publishes, 20 s
                if time.monotonic() > deadline:
                    return
                envelope = envelope_json(topics[n % 8], T0 + n, b"w%d-%d" % (index, n))
                attempts += 1
                try:
                    reply = await publish(own, a.url, alice_token, envelope)
                except aiohttp.ClientError:
                    return  # A is gone
                if reply.status == 200:
                    acknowledged.append(envelope)

    load = [asyncio.create_task(worker(i)) for i in range(32)]
    while len(acknowledged) < 500 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    a.kill()
    await asyncio.wait_for(asyncio.gather(*load), 30)
    assert len(acknowledged) >= 500
    stored = await _all_stored(http, b.url, topics)
    keys = {(e["contentTopic"], e["timestampNs"], e["message"]) for e in stored}
    missing = [
        e for e in acknowledged if (e["contentTopic"], e["timestampNs"], e["message"]) not in keys
    ]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged envelopes lost"
    assert len(stored) <= attempts


@pytest.mark.asyncio
async def test_database_outage_answers_503_and_the_node_recovers(
    http: aiohttp.ClientSession, alice_token: str
) -> None:
    with PostgresServer() as server, NodeProcess(server.new_database()) as node:
        before = envelope_json(TOPIC, T0, b"before")
        assert (await publish(http, node.url, alice_token, before)).status == 200
        async with subscribe(http, node.url, [TOPIC]) as stream:
            server.halt()
            down = await publish(http, node.url, alice_token, envelope_json(TOPIC, T0 + 1, b"x"))
            assert (down.status, down.json["code"]) == (503, 14)
            assert await stream.at_eof(15)  # announcements may be missed: the stream ends
        server.run()
        after = envelope_json(TOPIC, T0 + 2, b"after")
        for _ in range(100):  # bounded: the pool reconnects within seconds
            reply = await publish(http, node.url, alice_token, after)
            if reply.status == 200:
                break
            await asyncio.sleep(0.2)
        assert reply.status == 200, reply.text
        # Streams opened while the listener reconnects end once it listens again (their
        # subscribers missed commits); a stream opened after that carries every publish.
        tries: list[dict[str, Any]] = []
        for n in range(50):  # bounded: the listener reconnects on its own schedule
            async with subscribe(http, node.url, [TOPIC]) as stream:
                tries.append(envelope_json(TOPIC, T0 + 3 + n, b"streams again %d" % n))
                assert (await publish(http, node.url, alice_token, tries[-1])).status == 200
                try:
                    line = await asyncio.wait_for(stream.response.content.readline(), 2)
                except TimeoutError:
                    continue
                if line:  # not the end of an ended stream
                    assert json.loads(line) == {"result": tries[-1]}
                    break
        else:
            raise AssertionError("streams never resumed")
        assert await _all_stored(http, node.url, [TOPIC]) == [before, after, *tries]
