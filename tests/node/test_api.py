"""The node's REST API driven over loopback HTTP, as xmtp-js and the mobile SDKs use it."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import aiohttp
import pytest

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.proto import message_api_pb2 as api
from app.keyengine.topics import contact_topic, invite_topic, private_store_topic
from app.xmtpnode.storage import Envelope
from tests.support.message_api import b64, envelope_json, page_order, post, publish, query, stored
from tests.support.node import RunningNode

T0 = 1_700_000_000_000_000_000
CONVERSATION = "/xmtp/0/m-" + "ab" * 32 + "/proto"
OTHER_CONVERSATION = "/xmtp/0/m-" + "cd" * 32 + "/proto"


def digest(topic: str, message: bytes) -> bytes:
    return hashlib.sha256(topic.encode() + message).digest()


# --- round trip and encoding ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_publish_then_query_round_trip_is_exact_protojson(
    node: RunningNode, http: aiohttp.ClientSession, alice: PrivateKeyBundleV1, alice_token: str
) -> None:
    topic = contact_topic(alice.wallet_address)
    message = b"\xfb\xff\xbf\x00"  # standard base64 "+/+/AA==": '+', '/' and padding
    reply = await publish(http, node.url, alice_token, envelope_json(topic, T0, message))
    assert (reply.status, reply.text, reply.content_type) == (200, "{}", "application/json")

    reply = await post(http, node.url, "/message/v1/query", {"contentTopics": [topic]})
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.json == {
        "envelopes": [{"contentTopic": topic, "timestampNs": str(T0), "message": "+/+/AA=="}],
        "pagingInfo": {"limit": 100, "cursor": None, "direction": "SORT_DIRECTION_DESCENDING"},
    }
    assert '"timestampNs":"1700000000000000000"' in reply.text


@pytest.mark.asyncio
async def test_unpopulated_fields_are_present(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    reply = await publish(http, node.url, alice_token, envelope_json(CONVERSATION, 0, b""))
    assert reply.status == 200
    body = await query(http, node.url, {"contentTopics": [CONVERSATION]})
    assert body["envelopes"] == [{"contentTopic": CONVERSATION, "timestampNs": "0", "message": ""}]
    empty = await query(http, node.url, {"contentTopics": [OTHER_CONVERSATION]})
    assert empty == {
        "envelopes": [],
        "pagingInfo": {"limit": 100, "cursor": None, "direction": "SORT_DIRECTION_DESCENDING"},
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "content_type", ["text/plain;charset=UTF-8", "application/json", "", "application/whatever"]
)
async def test_json_is_parsed_whatever_the_content_type(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str, content_type: str
) -> None:
    body = {"envelopes": [envelope_json(CONVERSATION, T0, b"x")]}
    reply = await post(
        http, node.url, "/message/v1/publish", body, token=alice_token, content_type=content_type
    )
    assert (reply.status, reply.text) == (200, "{}")
    query_body = {"contentTopics": [CONVERSATION]}
    reply = await post(http, node.url, "/message/v1/query", query_body, content_type=content_type)
    assert reply.status == 200
    assert [e["message"] for e in reply.json["envelopes"]] == [b64(b"x")]


@pytest.mark.asyncio
async def test_numbers_for_uint64_and_enums_are_accepted(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    envelopes = [
        {"contentTopic": CONVERSATION, "timestampNs": T0 + i, "message": b64(b"%d" % i)}
        for i in range(3)
    ]
    assert (await publish(http, node.url, alice_token, *envelopes)).status == 200
    body = await query(
        http,
        node.url,
        {"contentTopics": [CONVERSATION], "startTimeNs": T0 + 1, "pagingInfo": {"direction": 1}},
    )
    assert [e["timestampNs"] for e in body["envelopes"]] == [str(T0 + 1), str(T0 + 2)]
    assert body["pagingInfo"]["direction"] == "SORT_DIRECTION_ASCENDING"


@pytest.mark.asyncio
async def test_protobuf_bodies_get_protobuf_answers(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    request = api.PublishRequest(
        envelopes=[api.Envelope(content_topic=CONVERSATION, timestamp_ns=T0, message=b"\x00\x01")]
    )
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {alice_token}"}
    async with http.post(
        node.url + "/message/v1/publish", data=request.SerializeToString(), headers=headers
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/x-protobuf"
        assert await response.read() == b""

    query_request = api.QueryRequest(content_topics=[CONVERSATION])
    async with http.post(
        node.url + "/message/v1/query",
        data=query_request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/x-protobuf"
        reply = api.QueryResponse.FromString(await response.read())
    assert list(reply.envelopes) == list(request.envelopes)
    assert reply.paging_info.limit == 100
    assert reply.paging_info.direction == api.SORT_DIRECTION_DESCENDING
    assert not reply.paging_info.HasField("cursor")

    async with http.post(
        node.url + "/message/v1/query",
        data=b"\xff\xff\xff",
        headers={"Content-Type": "application/x-protobuf"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 3


# --- queries --------------------------------------------------------------------------------


async def _publish_series(
    http: aiohttp.ClientSession, url: str, token: str, topic: str, timestamps: list[int]
) -> list[dict[str, Any]]:
    """Publish one envelope per timestamp, in this order, in a single request."""
    envelopes = [
        envelope_json(topic, ts, f"{topic}#{i}".encode()) for i, ts in enumerate(timestamps)
    ]
    reply = await publish(http, url, token, *envelopes)
    assert reply.status == 200, reply.text
    return envelopes


async def _all_pages(
    http: aiohttp.ClientSession, url: str, topics: list[str], limit: int, direction: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow cursors exactly as xmtp-js does (cursor sent back unchanged); return rows, pages."""
    rows: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    paging: dict[str, Any] = {"limit": limit, "direction": direction}
    for _ in range(100):
        body = await query(http, url, {"contentTopics": topics, "pagingInfo": paging})
        pages.append(body)
        rows.extend(body["envelopes"])
        cursor = body["pagingInfo"]["cursor"]
        if cursor is None:
            return rows, pages
        paging = {**paging, "cursor": cursor}
    raise AssertionError("pagination did not end")


@pytest.mark.asyncio
@pytest.mark.parametrize("direction", ["SORT_DIRECTION_ASCENDING", "SORT_DIRECTION_DESCENDING"])
async def test_pagination_has_no_gaps_or_duplicates(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str, direction: str
) -> None:
    # 23 envelopes, timestamps shared in runs of three and published out of time order.
    timestamps = [T0 + (i * 7 % 23) // 3 for i in range(23)]
    sent = await _publish_series(http, node.url, alice_token, CONVERSATION, timestamps)
    expected = sorted(sent, key=page_order)  # ties ordered by digest, as the reference node
    if direction == "SORT_DIRECTION_DESCENDING":
        expected = expected[::-1]

    rows, pages = await _all_pages(http, node.url, [CONVERSATION], 5, direction)
    assert rows == expected
    assert [len(p["envelopes"]) for p in pages] == [5, 5, 5, 5, 3]
    for page in pages[:-1]:
        last = page["envelopes"][-1]
        message = base64.b64decode(last["message"])
        assert page["pagingInfo"] == {
            "limit": 5,
            "cursor": {
                "index": {
                    "digest": b64(digest(CONVERSATION, message)),
                    "senderTimeNs": last["timestampNs"],
                }
            },
            "direction": direction,
        }
    assert pages[-1]["pagingInfo"]["cursor"] is None


@pytest.mark.asyncio
async def test_exactly_full_last_page_is_followed_by_an_empty_one(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    await _publish_series(http, node.url, alice_token, CONVERSATION, [T0 + i for i in range(10)])
    rows, pages = await _all_pages(http, node.url, [CONVERSATION], 5, "SORT_DIRECTION_ASCENDING")
    assert [len(p["envelopes"]) for p in pages] == [5, 5, 0]
    assert len({(r["timestampNs"], r["message"]) for r in rows}) == 10


@pytest.mark.asyncio
async def test_time_filters_are_inclusive(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    await _publish_series(
        http, node.url, alice_token, CONVERSATION, [T0 + 10 * i for i in range(1, 6)]
    )

    async def window(**bounds: int) -> list[int]:
        body: dict[str, Any] = {
            "contentTopics": [CONVERSATION],
            "pagingInfo": {"direction": "SORT_DIRECTION_ASCENDING"},
        }
        body.update({key: str(value) for key, value in bounds.items()})
        envelopes = (await query(http, node.url, body))["envelopes"]
        return [int(e["timestampNs"]) - T0 for e in envelopes]

    assert await window(startTimeNs=T0 + 20, endTimeNs=T0 + 40) == [20, 30, 40]
    assert await window(startTimeNs=T0 + 40) == [40, 50]
    assert await window(endTimeNs=T0 + 20) == [10, 20]
    assert await window(startTimeNs=T0 + 30, endTimeNs=T0 + 30) == [30]
    assert await window(startTimeNs=T0 + 31, endTimeNs=T0 + 39) == []
    assert await window(startTimeNs=0, endTimeNs=0) == [10, 20, 30, 40, 50]


@pytest.mark.asyncio
async def test_defaults_are_descending_and_one_hundred(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    await _publish_series(http, node.url, alice_token, CONVERSATION, [T0 + i for i in range(105)])
    body = await query(http, node.url, {"contentTopics": [CONVERSATION]})
    timestamps = [int(e["timestampNs"]) - T0 for e in body["envelopes"]]
    assert timestamps == list(range(104, 4, -1))
    assert body["pagingInfo"]["limit"] == 100
    assert body["pagingInfo"]["direction"] == "SORT_DIRECTION_DESCENDING"
    assert body["pagingInfo"]["cursor"]["index"]["senderTimeNs"] == str(T0 + 5)


@pytest.mark.asyncio
async def test_multi_topic_query_merges_in_time_order(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    a = await _publish_series(http, node.url, alice_token, CONVERSATION, [T0 + 1, T0 + 3, T0 + 5])
    b = await _publish_series(http, node.url, alice_token, OTHER_CONVERSATION, [T0 + 2, T0 + 4])
    await _publish_series(http, node.url, alice_token, "/xmtp/0/m-unrelated/proto", [T0 + 3])
    rows, pages = await _all_pages(
        http, node.url, [CONVERSATION, OTHER_CONVERSATION], 2, "SORT_DIRECTION_ASCENDING"
    )
    assert rows == [a[0], b[0], a[1], b[1], a[2]]
    assert len(pages) == 3


@pytest.mark.asyncio
async def test_batch_query(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    a = await _publish_series(http, node.url, alice_token, CONVERSATION, [T0 + 1, T0 + 2])
    b = await _publish_series(http, node.url, alice_token, OTHER_CONVERSATION, [T0 + 3])
    body = {
        "requests": [
            {"contentTopics": [CONVERSATION], "pagingInfo": {"limit": 1}},
            {"contentTopics": [OTHER_CONVERSATION]},
            {"contentTopics": ["/xmtp/0/m-nothing/proto"]},
        ]
    }
    reply = await post(http, node.url, "/message/v1/batch-query", body)
    assert reply.status == 200, reply.text
    responses = reply.json["responses"]
    assert [r["envelopes"] for r in responses] == [[a[1]], b, []]
    assert responses[0]["pagingInfo"]["cursor"] is not None
    assert responses[1]["pagingInfo"] == {
        "limit": 100,
        "cursor": None,
        "direction": "SORT_DIRECTION_DESCENDING",
    }

    fifty = {"requests": [{"contentTopics": [CONVERSATION]}] * 50}
    reply = await post(http, node.url, "/message/v1/batch-query", fifty)
    assert reply.status == 200
    assert len(reply.json["responses"]) == 50


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        {"requests": [{"contentTopics": [CONVERSATION]}] * 51},
        {"requests": [{"contentTopics": [CONVERSATION], "pagingInfo": {"limit": 101}}]},
        {"requests": [{"contentTopics": []}]},
    ],
    ids=["51-requests", "limit-101", "no-topic"],
)
async def test_batch_query_refusals(
    node: RunningNode, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    reply = await post(http, node.url, "/message/v1/batch-query", body)
    assert reply.status == 400
    assert reply.json["code"] == 3
    assert reply.json["details"] == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"contentTopics": [CONVERSATION], "pagingInfo": {"limit": 101}}, 400),
        ({"contentTopics": [CONVERSATION], "pagingInfo": {"limit": 100}}, 200),
        ({"contentTopics": []}, 400),
        ({}, 400),
        ("{not json", 400),
        ("[1, 2]", 400),
        ({"contentTopics": [CONVERSATION], "pagingInfo": {"limit": -1}}, 400),
    ],
)
async def test_query_validation(
    node: RunningNode, http: aiohttp.ClientSession, body: Any, expected: int
) -> None:
    reply = await post(http, node.url, "/message/v1/query", body)
    assert reply.status == expected
    if expected == 400:
        assert reply.content_type == "application/json"
        assert reply.json["code"] == 3
        assert reply.json["details"] == []
        assert reply.json["message"]


# --- publish rules --------------------------------------------------------------------------


def _refusals(alice: PrivateKeyBundleV1, bob: PrivateKeyBundleV1) -> dict[str, Any]:
    """name → (token, envelopes or raw body, HTTP status, gRPC code)."""
    token = create_auth_token(alice)
    expired = create_auth_token(alice, created_ns=time.time_ns() - 2 * 3600 * 10**9)
    ok = envelope_json(CONVERSATION, T0, b"fine")
    return {
        "missing-token": (None, [ok], 401, 16),
        "garbage-token": ("not-a-token!!", [ok], 401, 16),
        "garbage-base64-token": (b64(b"\x0a\x03abc"), [ok], 401, 16),
        "expired-token": (expired, [ok], 401, 16),
        "other-privatestore": (
            token,
            [envelope_json(private_store_topic(bob.wallet_address), T0, b"junk")],
            403,
            7,
        ),
        "other-contact": (
            token,
            [envelope_json(contact_topic(bob.wallet_address), T0, b"junk")],
            403,
            7,
        ),
        "lowercase-own-contact": (
            token,
            [envelope_json(contact_topic(alice.wallet_address).lower(), T0, b"junk")],
            403,
            7,
        ),
        "bare-privatestore": (
            token,
            [envelope_json("/xmtp/0/privatestore/key_bundle/proto", T0, b"junk")],
            403,
            7,
        ),
        "topic-301-bytes": (token, [envelope_json("/" + "t" * 300, T0, b"x")], 400, 3),
        "empty-topic": (token, [envelope_json("", T0, b"x")], 400, 3),
        "message-1048215-bytes": (
            token,
            [envelope_json(CONVERSATION, T0, b"\x00" * 1_048_215)],
            400,
            3,
        ),
        "malformed-json": (token, '{"envelopes": [', 400, 3),
        "bad-base64": (
            token,
            [{"contentTopic": CONVERSATION, "timestampNs": "1", "message": "!!"}],
            400,
            3,
        ),
        "one-bad-envelope-of-three": (
            token,
            [
                ok,
                envelope_json(OTHER_CONVERSATION, T0, b"also fine"),
                envelope_json(contact_topic(bob.wallet_address), T0, b"junk"),
            ],
            403,
            7,
        ),
        "one-oversized-of-two": (
            token,
            [ok, envelope_json(OTHER_CONVERSATION, T0, b"\x00" * 1_048_215)],
            400,
            3,
        ),
    }


REFUSALS = [
    "missing-token",
    "garbage-token",
    "garbage-base64-token",
    "expired-token",
    "other-privatestore",
    "other-contact",
    "lowercase-own-contact",
    "bare-privatestore",
    "topic-301-bytes",
    "empty-topic",
    "message-1048215-bytes",
    "malformed-json",
    "bad-base64",
    "one-bad-envelope-of-three",
    "one-oversized-of-two",
]


@pytest.mark.asyncio
@pytest.mark.parametrize("case", REFUSALS)
async def test_refused_publish_stores_nothing(
    node: RunningNode,
    http: aiohttp.ClientSession,
    alice: PrivateKeyBundleV1,
    bob: PrivateKeyBundleV1,
    case: str,
) -> None:
    token, envelopes, status, code = _refusals(alice, bob)[case]
    body = envelopes if isinstance(envelopes, str) else {"envelopes": envelopes}
    reply = await post(http, node.url, "/message/v1/publish", body, token=token)
    assert reply.status == status, reply.text
    assert reply.content_type == "application/json"
    assert reply.json["code"] == code
    assert reply.json["details"] == []
    assert isinstance(reply.json["message"], str)

    topics = [CONVERSATION, OTHER_CONVERSATION, "/" + "t" * 300]
    topics += [contact_topic(w.wallet_address) for w in (alice, bob)]
    topics += [private_store_topic(w.wallet_address) for w in (alice, bob)]
    topics += [contact_topic(alice.wallet_address).lower(), "/xmtp/0/privatestore/key_bundle/proto"]
    assert await stored(http, node.url, *topics) == []
    assert node.server.storage.insert([]) == 0  # storage still usable
    assert _row_count(node) == 0


def _row_count(node: RunningNode) -> int:
    return node.server.storage.count()


@pytest.mark.asyncio
async def test_own_topics_and_open_categories_are_accepted(
    node: RunningNode,
    http: aiohttp.ClientSession,
    alice: PrivateKeyBundleV1,
    bob: PrivateKeyBundleV1,
) -> None:
    token = create_auth_token(alice)
    topics = [
        private_store_topic(alice.wallet_address),
        contact_topic(alice.wallet_address),
        f"/xmtp/0/invite-{bob.wallet_address}/proto",
        f"/xmtp/0/intro-{bob.wallet_address}/proto",
        "/xmtp/0/userpreferences-abc/proto",
        f"/xmtp/0/dm-{alice.wallet_address}-{bob.wallet_address}/proto",
        "/xmtp/0/groupInvite-x/proto",
        "/" + "t" * 299,  # exactly 300 bytes
        "/other/namespace",
    ]
    envelopes = [envelope_json(t, T0 + i, b"ok") for i, t in enumerate(topics)]
    reply = await publish(http, node.url, token, *envelopes)
    assert (reply.status, reply.text) == (200, "{}")
    assert len(await stored(http, node.url, *topics)) == len(topics)


@pytest.mark.asyncio
async def test_largest_message_is_accepted(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    message = bytes(range(256)) * (1_048_214 // 256) + b"\x07" * (1_048_214 % 256)
    assert len(message) == 1_048_214
    reply = await publish(http, node.url, alice_token, envelope_json(CONVERSATION, T0, message))
    assert reply.status == 200, reply.text
    assert (await stored(http, node.url, CONVERSATION))[0]["message"] == b64(message)


@pytest.mark.asyncio
async def test_oversized_request_body_is_resource_exhausted(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    envelopes = [envelope_json(CONVERSATION, T0 + i, b"\x00" * 1_000_000) for i in range(4)]
    reply = await publish(http, node.url, alice_token, *envelopes)
    assert (reply.status, reply.json["code"]) == (429, 8)
    assert await stored(http, node.url, CONVERSATION) == []


@pytest.mark.asyncio
async def test_duplicate_envelopes_are_stored_once(
    node: RunningNode, http: aiohttp.ClientSession, alice: PrivateKeyBundleV1, alice_token: str
) -> None:
    topic = private_store_topic(alice.wallet_address)
    envelope = envelope_json(topic, T0, b"bundle")
    for _ in range(3):  # xmtp-js retries; the second request also repeats it in one publish
        reply = await publish(http, node.url, alice_token, envelope, envelope)
        assert (reply.status, reply.text) == (200, "{}")
    # Same message at another time, or same time with another message, are distinct.
    await publish(http, node.url, alice_token, envelope_json(topic, T0 + 1, b"bundle"))
    await publish(http, node.url, alice_token, envelope_json(topic, T0, b"bundle2"))
    rows = await stored(http, node.url, topic)
    assert len(rows) == 3
    assert rows.count(envelope) == 1


@pytest.mark.asyncio
async def test_unknown_routes_and_methods_answer_grpc_json(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    async with http.post(node.url + "/message/v1/nope", data="{}") as response:
        assert response.status == 404
        assert await response.json() == {"code": 5, "message": "Not Found", "details": []}
    async with http.get(node.url + "/message/v1/query") as response:
        assert response.status == 405
        assert (await response.json())["code"] == 12


# --- invite topics --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_invite_topics_take_and_serve_only_invitation_sized_envelopes(
    node: RunningNode, http: aiohttp.ClientSession, alice: PrivateKeyBundleV1, alice_token: str
) -> None:
    """Anyone may write to anyone's invite topic: over 64 KiB is refused there (other topics
    keep the 1 MB ceiling), and large envelopes stored earlier are left out of its pages
    while the pages stay full of the others."""
    topic = invite_topic(alice.wallet_address)
    big = b"\0" * (64 * 1024 + 1)
    refused = await publish(http, node.url, alice_token, envelope_json(topic, T0, big))
    assert refused.status == 400 and refused.json["message"] == "message too big"
    accepted = await publish(http, node.url, alice_token, envelope_json(CONVERSATION, T0, big))
    assert accepted.status == 200

    earlier = [Envelope(topic, T0 + i, big if i % 2 else b"small %d" % i) for i in range(6)]
    node.server.storage.insert(earlier)
    page = await query(http, node.url, {"contentTopics": [topic], "pagingInfo": {"limit": 2}})
    assert [e["message"] for e in page["envelopes"]] == [b64(b"small 4"), b64(b"small 2")]
    assert page["pagingInfo"]["cursor"] is not None
    assert len(await stored(http, node.url, topic)) == 3
    assert len(await stored(http, node.url, CONVERSATION)) == 1
