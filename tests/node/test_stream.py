"""Subscriptions: NDJSON streams of envelopes published after subscribing; ephemeral topics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tests.support.message_api import b64, envelope_json, post, publish, stored
from tests.support.node import RunningNode
from tests.support.waiting import async_wait_until

T0 = 1_700_000_000_000_000_000
TOPIC_A = "/xmtp/0/m-" + "a" * 64 + "/proto"
TOPIC_B = "/xmtp/0/m-" + "b" * 64 + "/proto"
EPHEMERAL = "/xmtp/0/mE-" + "a" * 64 + "/proto"
EPHEMERAL_V1 = "/xmtp/0/dmE-0xA-0xB/proto"


class Stream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next line, which must be exactly one ``{"result": <Envelope>}`` JSON object."""
        line = await asyncio.wait_for(self.response.content.readline(), timeout)
        assert line.endswith(b"\n"), line
        item: dict[str, Any] = json.loads(line)
        assert list(item) == ["result"]
        result: dict[str, Any] = item["result"]
        return result

    async def at_eof(self, timeout: float = 5.0) -> bool:
        return await asyncio.wait_for(self.response.content.read(), timeout) == b""


@asynccontextmanager
async def subscribe(
    http: aiohttp.ClientSession, url: str, topics: list[str] | None
) -> AsyncIterator[Stream]:
    path, body = (
        ("/message/v1/subscribe-all", {})
        if topics is None
        else ("/message/v1/subscribe", {"contentTopics": topics})
    )
    async with http.post(
        url + path,
        data=json.dumps(body),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        yield Stream(response)


@pytest.mark.asyncio
async def test_subscribe_streams_new_envelopes_of_its_topics_only(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    await publish(http, node.url, alice_token, envelope_json(TOPIC_A, T0, b"before"))
    async with subscribe(http, node.url, [TOPIC_A, EPHEMERAL]) as stream:
        first = envelope_json(TOPIC_A, T0 + 1, b"\xfb\xff one")
        await publish(
            http,
            node.url,
            alice_token,
            first,
            envelope_json(TOPIC_B, T0 + 2, b"not for us"),
        )
        await publish(http, node.url, alice_token, envelope_json(TOPIC_B, T0 + 3, b"nor this"))
        second = envelope_json(TOPIC_A, T0 + 4, b"two")
        await publish(http, node.url, alice_token, second)
        assert await stream.next() == first
        assert await stream.next() == second
        assert first["message"] == b64(b"\xfb\xff one")  # standard base64 on the stream too


@pytest.mark.asyncio
async def test_repeated_publish_is_not_relayed_again(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    async with subscribe(http, node.url, [TOPIC_A]) as stream:
        envelope = envelope_json(TOPIC_A, T0, b"once")
        await publish(http, node.url, alice_token, envelope)
        await publish(http, node.url, alice_token, envelope)  # an SDK retry
        marker = envelope_json(TOPIC_A, T0 + 1, b"marker")
        await publish(http, node.url, alice_token, marker)
        assert await stream.next() == envelope
        assert await stream.next() == marker


@pytest.mark.asyncio
async def test_subscribe_all_sees_every_topic(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    async with subscribe(http, node.url, None) as stream:
        sent = [
            envelope_json(TOPIC_A, T0, b"a"),
            envelope_json(TOPIC_B, T0, b"b"),
            envelope_json(EPHEMERAL, T0, b"e"),
        ]
        await publish(http, node.url, alice_token, *sent)
        assert [await stream.next() for _ in sent] == sent


@pytest.mark.asyncio
@pytest.mark.parametrize("topic", [EPHEMERAL, EPHEMERAL_V1])
async def test_ephemeral_topics_are_relayed_not_stored(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str, topic: str
) -> None:
    async with subscribe(http, node.url, [topic]) as stream:
        envelope = envelope_json(topic, T0, b"typing...")
        reply = await publish(http, node.url, alice_token, envelope)
        assert (reply.status, reply.text) == (200, "{}")
        assert await stream.next() == envelope
    assert await stored(http, node.url, topic) == []


@pytest.mark.asyncio
async def test_ephemeral_publish_still_needs_a_token(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    async with subscribe(http, node.url, [EPHEMERAL]) as stream:
        reply = await publish(http, node.url, None, envelope_json(EPHEMERAL, T0, b"x"))
        assert (reply.status, reply.json["code"]) == (401, 16)
        with pytest.raises(TimeoutError):
            await stream.next(timeout=0.3)


@pytest.mark.asyncio
async def test_subscription_ends_when_the_client_leaves(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    async with subscribe(http, node.url, [TOPIC_A]):
        assert len(node.server.broker) == 1
    await http.close()  # drop the pooled connection too
    await async_wait_until(lambda: len(node.server.broker) == 0, timeout=4)


@pytest.mark.asyncio
async def test_streams_end_cleanly_when_the_node_stops(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    async with subscribe(http, node.url, [TOPIC_A]) as stream:
        stopping = asyncio.create_task(asyncio.to_thread(node.stop))
        assert await stream.at_eof()
        await asyncio.wait_for(stopping, 5)


@pytest.mark.asyncio
async def test_subscribe_needs_a_topic(node: RunningNode, http: aiohttp.ClientSession) -> None:
    reply = await post(http, node.url, "/message/v1/subscribe", {"contentTopics": []})
    assert (reply.status, reply.json["code"]) == (400, 3)
