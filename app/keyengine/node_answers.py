"""Reading what a node answers, with a ceiling on every cost: bytes, nesting, pages, repeats.

Anything may come back from a node: a body of 100 MB, JSON nested a million deep, protobuf
JSON of the wrong shape, or a cursor that never ends.  Each of these ends in a typed
``NodeMisbehaving`` after bounded work:

* a body is read in chunks and abandoned as soon as it passes ``MAX_ANSWER_BYTES``;
* JSON that is too deep, not an object, or does not match the protobuf message is refused;
* ``PageGuard`` follows a query's pages only while they make progress: never more envelopes
  than asked for, never a cursor or an envelope seen before, at most ``MAX_PAGES`` pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import aiohttp
from google.protobuf import json_format
from google.protobuf.message import Message

from app.keyengine import json_input
from app.keyengine.network_errors import (
    AnswerTooLarge,
    NodeMisbehaving,
    NodeRejected,
    Unauthenticated,
)
from app.keyengine.proto import message_api_pb2 as api

MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024
"""Largest answer read (decoded bytes).  One envelope holds at most about 1 MiB (1.4 MiB as
JSON), so a page of them always fits when asked for in pages of ten; anything above is refused."""

MAX_PAGES: Final = 1_000
"""Most pages one query follows (100,000 envelopes at the node's page size of 100)."""

MAX_ERROR_TEXT: Final = 200
"""Characters of a node's error message kept in our own message."""

_GRPC_UNAUTHENTICATED: Final = 16

_UINT64_MAX: Final = 2**64 - 1
_URLSAFE: Final = str.maketrans("-_", "+/")

M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message on a content topic, as the node stores it."""

    topic: str
    timestamp_ns: int
    message: bytes
    oversized: bool = False
    """Larger than the query's ``max_message_bytes``: ``message`` is empty, never decoded."""

    def to_proto(self) -> api.Envelope:
        return api.Envelope(
            content_topic=self.topic, timestamp_ns=self.timestamp_ns, message=self.message
        )

    @classmethod
    def from_proto(cls, msg: api.Envelope) -> Envelope:
        return cls(msg.content_topic, msg.timestamp_ns, msg.message)


async def read_body(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The body of ``response``, read in chunks; ``AnswerTooLarge`` past ``limit`` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise AnswerTooLarge(f"the node announced an answer of {declared} bytes (limit {limit})")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(f"the node's answer exceeds {limit} bytes; stopped reading")
            chunks.append(chunk)
    except aiohttp.ClientPayloadError as exc:
        raise NodeMisbehaving(f"the node's answer is damaged: {exc}") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one copy: memory is slow


def json_value(data: bytes) -> Any:
    """``data`` decoded as JSON; ``NodeMisbehaving`` for anything that is not (or too deep)."""
    try:
        return json_input.loads(data) if data.strip() else {}
    except (json_input.JsonTooDeep, RecursionError):
        raise NodeMisbehaving("the node answered with JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError, integers of > 4,300 digits
        raise NodeMisbehaving("the node answered with something that is not JSON") from None


def json_object(data: bytes) -> dict[str, Any]:
    value = json_value(data)
    if not isinstance(value, dict):
        raise NodeMisbehaving("the node answered with JSON that is not an object")
    return value


def parse_message(value: Any, message: M, what: str) -> M:
    """``value`` (decoded JSON) read into the protobuf ``message``, or ``NodeMisbehaving``."""
    try:
        return json_format.ParseDict(value, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError, AttributeError):
        raise NodeMisbehaving(f"the node's {what} does not match the protocol") from None


def _uint64(value: object) -> int:
    """A protojson uint64: a JSON number or a decimal string."""
    if isinstance(value, bool):
        raise NodeMisbehaving("the node sent a timestamp that is not a number")
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
        raise NodeMisbehaving("the node sent a timestamp that is not a uint64")
    return value


def _protojson_bytes(text: str) -> bytes:
    """protojson ``bytes``: standard or URL-safe base64, padded or not."""
    try:
        if "-" in text or "_" in text:
            text = text.translate(_URLSAFE)
        return base64.b64decode(text.encode("ascii") + b"=" * (-len(text) % 4), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise NodeMisbehaving("the node sent an envelope whose message is not base64") from None


def query_envelopes(answer: dict[str, Any], max_message_bytes: int = 0) -> list[Envelope]:
    """The envelopes of a ``QueryResponse`` in protojson, checked field by field.

    Read directly rather than through ``json_format.ParseDict``: the three fields of an
    envelope are all there is, and the generic reader costs about 40 µs per envelope, which a
    topic flooded with junk multiplies.  It also lets an envelope larger than
    ``max_message_bytes`` be passed on as ``oversized`` without decoding its base64.
    """
    items = answer.get("envelopes") or []
    if not isinstance(items, list):
        raise NodeMisbehaving("the node's query answer does not match the protocol")
    envelopes: list[Envelope] = []
    for item in items:
        if not isinstance(item, dict):
            raise NodeMisbehaving("the node's query answer does not match the protocol")
        topic = item.get("contentTopic", "")
        text = item.get("message", "")
        if not isinstance(topic, str) or not isinstance(text, str):
            raise NodeMisbehaving("the node's query answer does not match the protocol")
        timestamp_ns = _uint64(item.get("timestampNs", 0))
        if max_message_bytes and len(text) > (max_message_bytes + 2) // 3 * 4:
            envelopes.append(Envelope(topic, timestamp_ns, b"", oversized=True))
        else:
            envelopes.append(Envelope(topic, timestamp_ns, _protojson_bytes(text)))
    return envelopes


def rejection(status: int, data: bytes) -> NodeRejected:
    """The typed error for an HTTP error answer (grpc-gateway ``{code, message}`` JSON)."""
    try:
        body = json_input.loads(data)
        code = int(body.get("code", 2))
        message = str(body.get("message", ""))[:MAX_ERROR_TEXT] or f"HTTP {status}"
    except (RecursionError, AttributeError, TypeError, ValueError, UnicodeDecodeError):
        text = data[:MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
        code, message = 2, text or f"HTTP {status}"
    error_type = Unauthenticated if code == _GRPC_UNAUTHENTICATED else NodeRejected
    return error_type(f"the XMTP node refused the request: {message}", code=code, status=status)


class PageGuard:
    """Refuses a query's pages as soon as they stop making progress.

    A well-behaved node never sends more envelopes than the page limit, never repeats a cursor
    and never sends an envelope twice in one query; a node that does is misbehaving (the
    classic case: a cursor that always comes back, which would otherwise loop forever).
    """

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self._max_pages = max_pages
        self._pages = 0
        self._cursors: set[bytes] = set()
        self._envelopes: set[bytes] = set()

    def check_page(self, topic: str, envelopes: list[Envelope], limit: int) -> None:
        self._pages += 1
        if self._pages > self._max_pages:
            raise NodeMisbehaving(
                f"the node kept sending pages for {topic}: stopped after {self._max_pages}"
            )
        if len(envelopes) > limit:
            raise NodeMisbehaving(f"the node sent {len(envelopes)} envelopes for a page of {limit}")
        for envelope in envelopes:
            if envelope.oversized:
                continue  # never decoded, so not compared; the page count still bounds them
            stamp = envelope.timestamp_ns.to_bytes(8, "big")
            digest = hashlib.sha256(stamp + envelope.message).digest()
            if digest in self._envelopes:
                raise NodeMisbehaving(f"the node sent the same envelope twice for {topic}")
            self._envelopes.add(digest)

    def check_cursor(self, cursor: bytes) -> None:
        if cursor in self._cursors:
            raise NodeMisbehaving("the node's paging cursor does not advance")
        self._cursors.add(cursor)
