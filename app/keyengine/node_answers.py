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

import hashlib
import json
from typing import Any, Final, TypeVar

import aiohttp
from google.protobuf import json_format
from google.protobuf.message import Message

from app.keyengine.network_errors import (
    AnswerTooLarge,
    NodeMisbehaving,
    NodeRejected,
    Unauthenticated,
)

MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024
"""Largest answer read (decoded bytes).  One envelope holds at most about 1 MiB (1.4 MiB as
JSON), so a page of them always fits when asked for in pages of ten; anything above is refused."""

MAX_PAGES: Final = 1_000
"""Most pages one query follows (100,000 envelopes at the node's page size of 100)."""

MAX_ERROR_TEXT: Final = 200
"""Characters of a node's error message kept in our own message."""

_CHUNK: Final = 64 * 1024
_GRPC_UNAUTHENTICATED: Final = 16

M = TypeVar("M", bound=Message)


async def read_body(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The body of ``response``, read in chunks; ``AnswerTooLarge`` past ``limit`` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise AnswerTooLarge(f"the node announced an answer of {declared} bytes (limit {limit})")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(f"the node's answer exceeds {limit} bytes; stopped reading")
            chunks.append(chunk)
    except aiohttp.ClientPayloadError as exc:
        raise NodeMisbehaving(f"the node's answer is damaged: {exc}") from None
    return b"".join(chunks)


def json_value(data: bytes) -> Any:
    """``data`` decoded as JSON; ``NodeMisbehaving`` for anything that is not (or too deep)."""
    try:
        return json.loads(data) if data.strip() else {}
    except RecursionError:
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


def rejection(status: int, data: bytes) -> NodeRejected:
    """The typed error for an HTTP error answer (grpc-gateway ``{code, message}`` JSON)."""
    try:
        body = json.loads(data)
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

    def check_page(
        self, topic: str, stamps_and_messages: list[tuple[int, bytes]], limit: int
    ) -> None:
        self._pages += 1
        if self._pages > self._max_pages:
            raise NodeMisbehaving(
                f"the node kept sending pages for {topic}: stopped after {self._max_pages}"
            )
        if len(stamps_and_messages) > limit:
            raise NodeMisbehaving(
                f"the node sent {len(stamps_and_messages)} envelopes for a page of {limit}"
            )
        for timestamp_ns, message in stamps_and_messages:
            digest = hashlib.sha256(timestamp_ns.to_bytes(8, "big") + message).digest()
            if digest in self._envelopes:
                raise NodeMisbehaving(f"the node sent the same envelope twice for {topic}")
            self._envelopes.add(digest)

    def check_cursor(self, cursor: bytes) -> None:
        if cursor in self._cursors:
            raise NodeMisbehaving("the node's paging cursor does not advance")
        self._cursors.add(cursor)
