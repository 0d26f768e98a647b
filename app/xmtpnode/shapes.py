"""The request and response shapes every SDK uses, read and written without ``json_format``.

protobuf's ``ParseDict``/``MessageToDict`` are pure Python and walk descriptors: ~20 µs to read
a one-envelope publish, ~50 µs to write a ten-envelope page, more than the rest of a request
costs.  The shapes xmtp-js and our own client send — lowerCamelCase names, uint64 as a decimal
string or a JSON integer, enums by name, padded standard base64 — are read here straight from
the parsed JSON.  Whatever else a body holds (proto field names, nulls, unpadded or URL-safe
base64, unknown fields, anything odd) makes a reader answer None and the body goes through
``json_format`` as before, so the answer is the same for every input; ``test_shapes`` holds the
two paths to that.  Writers produce what ``MessageToDict`` produces (field order aside).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode.storage import Envelope, PageCursor

EnvelopeFields = tuple[str, int, bytes]
"""(content topic, timestamp ns, message) of one published envelope, not yet validated."""

_UINT64_END: Final = 1 << 64
_UINT32_END: Final = 1 << 32
_ENVELOPE_KEYS: Final = frozenset({"contentTopic", "timestampNs", "message"})
_QUERY_KEYS: Final = frozenset({"contentTopics", "startTimeNs", "endTimeNs", "pagingInfo"})
_PAGING_KEYS: Final = frozenset({"limit", "cursor", "direction"})
_CURSOR_KEYS: Final = frozenset({"index"})
_INDEX_KEYS: Final = frozenset({"digest", "senderTimeNs"})
_DIRECTIONS: Final[dict[str, int]] = {name: int(n) for name, n in api.SortDirection.items()}
_DIRECTION_NAMES: Final[dict[int, str]] = {number: name for name, number in _DIRECTIONS.items()}


# --- reading ------------------------------------------------------------------------------


def publish_fields(value: dict[str, Any]) -> list[EnvelopeFields] | None:
    """The envelopes of a PublishRequest in the common shape, else None."""
    if len(value) > 1 or (value and "envelopes" not in value):
        return None
    items = value.get("envelopes", [])
    if type(items) is not list:
        return None
    envelopes = []
    for item in items:
        if type(item) is not dict or not _ENVELOPE_KEYS.issuperset(item):
            return None
        topic = item.get("contentTopic", "")
        timestamp = _uint64(item.get("timestampNs", 0))
        message = _bytes(item.get("message", ""))
        if type(topic) is not str or not topic.isascii() or timestamp is None or message is None:
            return None
        envelopes.append((topic, timestamp, message))
    return envelopes


def query_request(value: dict[str, Any]) -> api.QueryRequest | None:
    """A QueryRequest in the common shape, else None."""
    if not _QUERY_KEYS.issuperset(value):
        return None
    topics = value.get("contentTopics", [])
    if type(topics) is not list or not all(type(t) is str and t.isascii() for t in topics):
        return None
    start = _uint64(value.get("startTimeNs", 0))
    end = _uint64(value.get("endTimeNs", 0))
    if start is None or end is None:
        return None
    request = api.QueryRequest(content_topics=topics, start_time_ns=start, end_time_ns=end)
    if "pagingInfo" in value:
        paging = _paging_info(value["pagingInfo"])
        if paging is None:
            return None
        request.paging_info.CopyFrom(paging)
    return request


def _paging_info(value: object) -> api.PagingInfo | None:
    if type(value) is not dict or not _PAGING_KEYS.issuperset(value):
        return None
    limit = value.get("limit", 0)
    direction = value.get("direction", 0)
    if type(limit) is not int or not 0 <= limit < _UINT32_END:
        return None
    number = _DIRECTIONS.get(direction) if type(direction) is str else direction
    if type(number) is not int or number not in _DIRECTION_NAMES:
        return None
    paging = api.PagingInfo(limit=limit, direction=api.SortDirection.ValueType(number))
    if "cursor" in value:
        cursor = value["cursor"]
        if type(cursor) is not dict or not _CURSOR_KEYS.issuperset(cursor):
            return None
        paging.cursor.SetInParent()
        if "index" in cursor:
            index = cursor["index"]
            if type(index) is not dict or not _INDEX_KEYS.issuperset(index):
                return None
            digest = _bytes(index.get("digest", ""))
            sender_time = _uint64(index.get("senderTimeNs", 0))
            if digest is None or sender_time is None:
                return None
            paging.cursor.index.SetInParent()
            paging.cursor.index.digest = digest
            paging.cursor.index.sender_time_ns = sender_time
    return paging


def _uint64(value: object) -> int | None:
    """A uint64 written as a JSON integer or a decimal string; None for any other form."""
    if type(value) is int:
        return value if 0 <= value < _UINT64_END else None
    if type(value) is str and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        number = int(value)
        return number if number < _UINT64_END else None
    return None


def _bytes(value: object) -> bytes | None:
    """Padded standard base64; None for any other form (left to ``json_format``)."""
    if type(value) is not str or len(value) % 4:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:  # outside the standard alphabet, or misplaced padding
        return None


# --- writing ------------------------------------------------------------------------------


def envelope_json(envelope: Envelope) -> dict[str, Any]:
    """protojson of an Envelope (every field, uint64 as a string, standard base64)."""
    return {
        "contentTopic": envelope.topic,
        "timestampNs": str(envelope.timestamp_ns),
        "message": base64.b64encode(envelope.message).decode("ascii"),
    }


def query_response_json(
    envelopes: list[Envelope], cursor: PageCursor | None, limit: int, direction: int
) -> dict[str, Any]:
    """protojson of a QueryResponse, with ``"cursor": null`` on the last page as
    grpc-gateway's EmitUnpopulated writes it."""
    cursor_json = None
    if cursor is not None:
        cursor_json = {
            "index": {
                "digest": base64.b64encode(cursor.digest).decode("ascii"),
                "senderTimeNs": str(cursor.sender_time_ns),
            }
        }
    return {
        "envelopes": [envelope_json(envelope) for envelope in envelopes],
        "pagingInfo": {
            "limit": limit,
            "cursor": cursor_json,
            "direction": _DIRECTION_NAMES[direction],
        },
    }
