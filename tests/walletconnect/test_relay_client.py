"""``RelayClient`` on its own against the loopback relay: auth, dedupe, paging, failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from app.walletconnect.crypto import message_id
from app.walletconnect.errors import (
    RelayError,
    RelayRejected,
    RelayUnavailable,
)
from app.walletconnect.events import Reconnected, Reconnecting
from app.walletconnect.relay import RelayClient, RelayState
from app.walletconnect.relay_auth import ClientKey
from app.walletconnect.relay_inbox import RelayMessage
from tests.support.waiting import async_wait_until
from tests.support.walletconnect import FAST, PROJECT_ID, delivered_and_handled
from tests.support.wc_relay import LoopbackRelay

TOPIC = "ab" * 32


class Inbox:
    def __init__(self) -> None:
        self.messages: list[RelayMessage] = []

    async def __call__(self, message: RelayMessage) -> None:
        self.messages.append(message)


@pytest_asyncio.fixture
async def publisher(relay: LoopbackRelay) -> AsyncIterator[RelayClient]:
    client = RelayClient(
        relay.url, PROJECT_ID, ClientKey.generate(), on_message=Inbox(), options=FAST
    )
    await client.start()
    yield client
    await client.close()


@pytest.mark.asyncio
async def test_auth_jwt_is_accepted_and_identifies_the_client(relay: LoopbackRelay) -> None:
    key = ClientKey.generate()
    client = RelayClient(relay.url, PROJECT_ID, key, on_message=Inbox(), options=FAST)
    await client.start()
    try:
        assert client.connected and client.client_id == key.did
        await async_wait_until(lambda: relay.connections_by_client.get(key.did) == 1)
    finally:
        await client.close()
    assert not client.connected


@pytest.mark.asyncio
async def test_redelivered_messages_are_handled_once_and_acked() -> None:
    inbox = Inbox()
    key = ClientKey.generate()
    async with LoopbackRelay(dedupe_publishes=False) as relay:
        publisher = RelayClient(
            relay.url, PROJECT_ID, ClientKey.generate(), on_message=Inbox(), options=FAST
        )
        client = RelayClient(relay.url, PROJECT_ID, key, on_message=inbox, options=FAST)
        await publisher.start()
        await client.start()
        try:
            await client.subscribe(TOPIC)
            for _ in range(2):  # the same envelope twice: a mailbox redelivery
                await publisher.publish(TOPIC, "bWVzc2FnZQ==", ttl=300, tag=1108)
            await publisher.publish(TOPIC, "b3RoZXI=", ttl=300, tag=1109)
            sent = [f for d, c, f in relay.frames if d == "out" and c == key.did and "method" in f]
            assert len(sent) == 3  # the relay did deliver the repeat
            await delivered_and_handled(relay, client)
            assert [(m.message, m.tag) for m in inbox.messages] == [
                ("bWVzc2FnZQ==", 1108),
                ("b3RoZXI=", 1109),
            ]
            assert inbox.messages[0].topic == TOPIC and inbox.messages[0].published_at > 0
            acked = relay.delivered[key.did]
            assert message_id("bWVzc2FnZQ==") in acked and message_id("b3RoZXI=") in acked
        finally:
            await client.close()
            await publisher.close()


@pytest.mark.asyncio
async def test_no_echo_and_unknown_topics_are_ignored(
    relay: LoopbackRelay, publisher: RelayClient
) -> None:
    inbox = Inbox()
    client = RelayClient(
        relay.url, PROJECT_ID, ClientKey.generate(), on_message=inbox, options=FAST
    )
    await client.start()
    try:
        await client.subscribe(TOPIC)
        await client.publish(TOPIC, "b3du", ttl=300, tag=1)  # our own: not echoed
        await client.unsubscribe(TOPIC)
        await publisher.publish(TOPIC, "bGF0ZQ==", ttl=300, tag=1)  # after unsubscribing
        # The relay delivers before it acknowledges a publish: nothing was sent to us.
        assert not [
            f for d, c, f in relay.frames if d == "out" and c == client.client_id and "method" in f
        ]
        await delivered_and_handled(relay, client)
        assert inbox.messages == []
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_start_fetches_the_mailbox_page_by_page(publisher: RelayClient) -> None:
    async with LoopbackRelay(fetch_page_size=1) as relay:
        sender = RelayClient(
            relay.url, PROJECT_ID, ClientKey.generate(), on_message=Inbox(), options=FAST
        )
        await sender.start()
        for index in range(3):
            await sender.publish(TOPIC, f"bTE{index}", ttl=300, tag=1)
        await sender.close()
        inbox = Inbox()
        client = RelayClient(
            relay.url, PROJECT_ID, ClientKey.generate(), on_message=inbox, options=FAST
        )
        await client.start([TOPIC])
        await client.wait_idle()
        try:
            assert sorted(m.message for m in inbox.messages) == ["bTE0", "bTE1", "bTE2"]
        finally:
            await client.close()


@pytest.mark.asyncio
async def test_relay_error_answer_is_a_typed_error(publisher: RelayClient) -> None:
    with pytest.raises(RelayError, match="unknown method"):
        await publisher.request("irn_nonsense", {})
    with pytest.raises(RelayError, match="invalid params"):
        await publisher.request("irn_publish", {"topic": TOPIC})


@pytest.mark.asyncio
async def test_unauthorised_handshake_is_rejected(relay: LoopbackRelay) -> None:
    client = RelayClient(relay.url, "", ClientKey.generate(), on_message=Inbox(), options=FAST)
    with pytest.raises(RelayRejected, match="401"):
        await client.start()


@pytest.mark.asyncio
async def test_unreachable_relay() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = RelayClient(
        f"ws://127.0.0.1:{port}", PROJECT_ID, ClientKey.generate(), on_message=Inbox(), options=FAST
    )
    with pytest.raises(RelayUnavailable):
        await client.start()


@pytest.mark.asyncio
async def test_requests_waiting_for_a_connection_end_on_close(relay: LoopbackRelay) -> None:
    client = RelayClient(
        relay.url, PROJECT_ID, ClientKey.generate(), on_message=Inbox(), options=FAST
    )
    await client.start()
    relay.block(client.client_id)
    await async_wait_until(lambda: not client.connected)
    waiting = asyncio.create_task(client.publish(TOPIC, "eA==", ttl=300, tag=1))
    refused = relay.refused_by_client.get(client.client_id, 0)
    await async_wait_until(lambda: relay.refused_by_client.get(client.client_id, 0) > refused)
    assert not waiting.done()  # still waiting for a connection the relay keeps refusing
    await client.close()
    with pytest.raises(RelayUnavailable):
        await asyncio.wait_for(waiting, 1)


@pytest.mark.asyncio
async def test_reconnect_resubscribes_and_reports(
    relay: LoopbackRelay, publisher: RelayClient
) -> None:
    inbox = Inbox()
    states: list[RelayState] = []
    client = RelayClient(
        relay.url,
        PROJECT_ID,
        ClientKey.generate(),
        on_message=inbox,
        on_state=states.append,
        options=FAST,
    )
    await client.start([TOPIC])
    try:
        relay.block(client.client_id)
        await async_wait_until(lambda: any(isinstance(s, Reconnecting) for s in states))
        await publisher.publish(TOPIC, "d2hpbGUgYXdheQ==", ttl=300, tag=1)
        relay.unblock(client.client_id)
        await async_wait_until(lambda: any(isinstance(s, Reconnected) for s in states))
        await async_wait_until(lambda: len(inbox.messages) == 1)
        await publisher.publish(TOPIC, "YWZ0ZXI=", ttl=300, tag=1)  # live again: resubscribed
        await async_wait_until(lambda: len(inbox.messages) == 2)
    finally:
        await client.close()
