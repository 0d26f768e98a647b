"""The engine's network client against the real node on loopback (and one fake for 5xx)."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import pytest_asyncio
from aiohttp import web

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.network import (
    ASCENDING,
    Envelope,
    NodeRejected,
    NodeUnreachable,
    QuerySpec,
    TokenSource,
    Unauthenticated,
    XmtpClient,
)
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from tests.support.node import RunningNode
from tests.support.waiting import async_wait_until

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def bundle() -> PrivateKeyBundleV1:
    return await generate_identity(RawKeySigner(bytes.fromhex("77" * 32)))


def topic() -> str:
    return f"/xmtp/0/m-{secrets.token_hex(32)}/proto"


async def test_full_pagination_both_directions(
    client: XmtpClient, bundle: PrivateKeyBundleV1
) -> None:
    name = topic()
    base = time.time_ns()
    sent = [Envelope(name, base + i, i.to_bytes(2, "big")) for i in range(250)]
    await client.publish(sent, TokenSource(bundle))
    newest_first = await client.query(QuerySpec(name))
    assert newest_first == sent[::-1]
    oldest_first = await client.query(QuerySpec(name, limit=30, direction=ASCENDING))
    assert oldest_first == sent
    window = await client.query(QuerySpec(name, start_ns=base + 10, end_ns=base + 19))
    assert [e.message for e in window] == [i.to_bytes(2, "big") for i in range(19, 9, -1)]
    assert len(await client.query(QuerySpec(name), max_results=7)) == 7


async def test_batch_query_splits_over_fifty(
    client: XmtpClient, bundle: PrivateKeyBundleV1
) -> None:
    names = [topic() for _ in range(60)]
    now = time.time_ns()
    await client.publish(
        [Envelope(n, now + i, n.encode()) for i, n in enumerate(names)], TokenSource(bundle)
    )
    results = await client.batch_query([QuerySpec(n) for n in names])
    assert [[e.message for e in r] for r in results] == [[n.encode()] for n in names]


async def test_expired_token_is_refreshed_once(
    client: XmtpClient, bundle: PrivateKeyBundleV1
) -> None:
    times = iter([time.time_ns() - 2 * 3600 * 10**9])

    def clock() -> int:
        return next(times, time.time_ns())

    tokens = TokenSource(bundle, clock=clock)
    name = topic()
    await client.publish([Envelope(name, time.time_ns(), b"x")], tokens)
    assert len(await client.query(QuerySpec(name))) == 1


async def test_always_expired_token_is_unauthenticated(
    client: XmtpClient, bundle: PrivateKeyBundleV1
) -> None:
    tokens = TokenSource(bundle, clock=lambda: time.time_ns() - 2 * 3600 * 10**9)
    name = topic()
    with pytest.raises(Unauthenticated):
        await client.publish([Envelope(name, time.time_ns(), b"x")], tokens)
    assert await client.query(QuerySpec(name)) == []


async def test_refusal_is_typed_and_not_retried(
    client: XmtpClient, bundle: PrivateKeyBundleV1
) -> None:
    other = RawKeySigner(bytes.fromhex("78" * 32)).address
    with pytest.raises(NodeRejected) as refused:
        await client.publish(
            [Envelope(f"/xmtp/0/contact-{other}/proto", time.time_ns(), b"x")],
            TokenSource(bundle),
        )
    assert refused.value.code == 7 and refused.value.status == 403


async def test_subscribe_receives_new_envelopes(
    client: XmtpClient, bundle: PrivateKeyBundleV1, node: RunningNode
) -> None:
    name = topic()
    received: list[Envelope] = []

    async def listen() -> None:
        async for envelope in client.subscribe([name]):
            received.append(envelope)
            return

    task = asyncio.create_task(listen())
    await async_wait_until(lambda: len(node.server.broker) == 1, what="the node sees the stream")
    sent = Envelope(name, time.time_ns(), b"live")
    await client.publish([sent], TokenSource(bundle))
    await asyncio.wait_for(task, 5)
    assert received == [sent]


async def test_unreachable_node_is_a_typed_error() -> None:
    async with XmtpClient("http://127.0.0.1:9", retries=2, backoff_s=0.01) as dead:
        with pytest.raises(NodeUnreachable, match="cannot reach"):
            await dead.query(QuerySpec(topic()))


async def test_server_errors_are_retried_with_backoff(bundle: PrivateKeyBundleV1) -> None:
    """A node answering 503 twice then succeeding (a fault the real node cannot be made to
    produce on demand, so a tiny stand-in server plays it)."""
    calls = 0

    async def flaky(_request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return web.json_response({"code": 14, "message": "busy", "details": []}, status=503)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/message/v1/publish", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with XmtpClient(f"http://127.0.0.1:{port}", retries=3, backoff_s=0.01) as c:
            await c.publish([Envelope(topic(), time.time_ns(), b"x")], TokenSource(bundle))
        assert calls == 3
        calls = -10
        async with XmtpClient(f"http://127.0.0.1:{port}", retries=2, backoff_s=0.01) as c:
            with pytest.raises(NodeRejected, match="busy"):
                await c.publish([Envelope(topic(), time.time_ns(), b"x")], TokenSource(bundle))
    finally:
        await runner.cleanup()
