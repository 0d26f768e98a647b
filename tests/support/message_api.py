"""Raw HTTP calls of the node's message API v1, made exactly as xmtp-js makes them.

The node tests drive the node over loopback with these (not with the engine's client), so
that what is asserted is the wire format itself: JSON sent as ``text/plain``, timestamps as
strings, messages in standard base64.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Reply:
    status: int
    text: str
    content_type: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def envelope_json(topic: str, timestamp_ns: int, message: bytes) -> dict[str, Any]:
    """An Envelope as xmtp-js sends it: timestamp as a string, standard base64."""
    return {"contentTopic": topic, "timestampNs": str(timestamp_ns), "message": b64(message)}


async def post(
    http: aiohttp.ClientSession,
    url: str,
    path: str,
    body: Any,
    *,
    token: str | None = None,
    content_type: str = "text/plain;charset=UTF-8",
) -> Reply:
    """POST like xmtp-js: JSON text sent as text/plain, bearer token only when given."""
    headers = {"Content-Type": content_type, "X-Client-Version": "xmtp-js/13.0.4"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    async with http.post(url + path, data=data, headers=headers) as response:
        return Reply(response.status, await response.text(), response.content_type)


async def publish(
    http: aiohttp.ClientSession, url: str, token: str | None, *envelopes: dict[str, Any]
) -> Reply:
    return await post(http, url, "/message/v1/publish", {"envelopes": list(envelopes)}, token=token)


async def query(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await post(http, url, "/message/v1/query", body)
    assert reply.status == 200, reply.text
    result: dict[str, Any] = reply.json
    return result


async def stored(http: aiohttp.ClientSession, url: str, *topics: str) -> list[dict[str, Any]]:
    """Every envelope on ``topics`` (one page of 100 is plenty in these tests)."""
    body = {"contentTopics": list(topics), "pagingInfo": {"limit": 100}}
    envelopes: list[dict[str, Any]] = (await query(http, url, body))["envelopes"]
    return envelopes


def page_order(envelope: dict[str, Any]) -> tuple[int, bytes]:
    """Where a JSON envelope sorts in query results: (timestamp, SHA-256(topic ‖ message))."""
    message = base64.b64decode(envelope["message"])
    digest = hashlib.sha256(envelope["contentTopic"].encode() + message).digest()
    return int(envelope["timestampNs"]), digest
