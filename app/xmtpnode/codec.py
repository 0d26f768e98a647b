"""Request and response bodies: protojson as grpc-gateway speaks it, or raw protobuf.

grpc-gateway (v2, default marshaler) decodes JSON request bodies whatever their Content-Type —
xmtp-js sends ``text/plain;charset=UTF-8`` — and only switches to binary protobuf for
``application/x-protobuf``.  Its JSON output emits every unpopulated field, writes uint64 as
decimal strings, bytes as standard padded base64 and enums by name; xmtp-js depends on the
string timestamps and the standard base64 (see the spec, §8).
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeVar

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import shapes
from app.xmtpnode.errors import invalid_argument
from app.xmtpnode.shapes import EnvelopeFields

PROTOBUF_CONTENT_TYPE: Final = "application/x-protobuf"
JSON_CONTENT_TYPE: Final = "application/json"

M = TypeVar("M", bound=Message)


def is_protobuf(content_type: str) -> bool:
    """Whether a request (by its Content-Type, parameters already stripped) is binary."""
    return content_type.strip().lower() == PROTOBUF_CONTENT_TYPE


def decode_request(body: bytes, content_type: str, message_type: type[M]) -> M:
    """Parse a request body into ``message_type``; raise InvalidArgument (400, code 3) if bad.

    An empty body is an empty request, as with grpc-gateway (which ignores io.EOF).  Unknown
    JSON fields are ignored, like grpc-gateway's default ``DiscardUnknown``.
    """
    if is_protobuf(content_type):
        return _from_protobuf(body, message_type)
    value = _json_object(body)
    return message_type() if value is None else _from_json(value, message_type)


def decode_publish(body: bytes, content_type: str) -> list[EnvelopeFields]:
    """The envelopes of a PublishRequest body.  InvalidArgument (400) if it is malformed.

    Every publish passes here: the common JSON shape is read by ``shapes``, anything else by
    ``json_format`` (the same answer, only slower).
    """
    if is_protobuf(content_type):
        request = _from_protobuf(body, api.PublishRequest)
    else:
        value = _json_object(body)
        if value is None:
            return []
        fast = shapes.publish_fields(value)
        if fast is not None:
            return fast
        request = _from_json(value, api.PublishRequest)
    return [(e.content_topic, e.timestamp_ns, e.message) for e in request.envelopes]


def decode_query(body: bytes, content_type: str) -> api.QueryRequest:
    """A QueryRequest body (the common JSON shape read by ``shapes``).  InvalidArgument."""
    if is_protobuf(content_type):
        return _from_protobuf(body, api.QueryRequest)
    value = _json_object(body)
    if value is None:
        return api.QueryRequest()
    return shapes.query_request(value) or _from_json(value, api.QueryRequest)


def _from_protobuf(body: bytes, message_type: type[M]) -> M:
    message = message_type()
    try:
        message.ParseFromString(body)
    except DecodeError as exc:
        raise invalid_argument(f"malformed protobuf request: {exc}") from None
    return message


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object of a body; None for an empty body.  InvalidArgument otherwise.

    orjson, not the json module: four times faster on a publish, and as strict (it refuses
    what grpc-gateway refuses, integers beyond 64 bits and nesting past 1,024 among them).
    """
    if not body.strip():
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_argument("request body is not UTF-8 JSON") from None
        raise invalid_argument(f"malformed JSON request: {_short(exc)}") from None
    if not isinstance(value, dict):
        raise invalid_argument("JSON request body must be an object")
    return value


def _from_json(value: dict[str, Any], message_type: type[M]) -> M:
    message = message_type()
    _check_base64(value, message.DESCRIPTOR)
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise invalid_argument(f"invalid request: {_short(exc)}") from None
    return message


def _short(exc: BaseException, limit: int = 200) -> str:
    """An exception's text, cut so that a refusal never echoes a huge input back."""
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "…"


# Standard or URL-safe alphabet, padding optional — what Go's protojson accepts.  Python's
# ParseDict silently drops characters outside the alphabet, which would store a corrupted
# message instead of refusing it.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


def _check_base64(value: object, descriptor: Any) -> None:  # a (upb or Python) Descriptor
    """Refuse bytes fields (anywhere in the request) whose JSON string is not base64."""
    if not isinstance(value, dict):
        return
    for field in descriptor.fields:
        item = value.get(field.json_name, value.get(field.name))
        if item is None:
            continue
        items = item if field.is_repeated and isinstance(item, list) else [item]
        for element in items:
            if field.type == FieldDescriptor.TYPE_BYTES:
                if isinstance(element, str) and not _BASE64.fullmatch(element):
                    raise invalid_argument(f"field {field.json_name} is not valid base64")
            elif field.message_type is not None:
                _check_base64(element, field.message_type)


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON (grpc-gateway emits no insignificant whitespace)."""
    return orjson.dumps(value)
