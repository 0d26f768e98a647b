"""Request and response bodies: protojson as grpc-gateway speaks it, or raw protobuf.

grpc-gateway (v2, default marshaler) decodes JSON request bodies whatever their Content-Type —
xmtp-js sends ``text/plain;charset=UTF-8`` — and only switches to binary protobuf for
``application/x-protobuf``.  Its JSON output emits every unpopulated field, writes uint64 as
decimal strings, bytes as standard padded base64 and enums by name; xmtp-js depends on the
string timestamps and the standard base64 (see the spec, §8).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from app.xmtpnode.errors import invalid_argument

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
    message = message_type()
    if is_protobuf(content_type):
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise invalid_argument(f"malformed protobuf request: {exc}") from None
        return message
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_argument("request body is not UTF-8 JSON") from None
    if not text.strip():
        return message
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # incl. integers over Python's 4,300 digits
        raise invalid_argument(f"malformed JSON request: {_short(exc)}") from None
    if not isinstance(value, dict):
        raise invalid_argument("JSON request body must be an object")
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


def to_json(message: Message) -> dict[str, Any]:
    """protojson of ``message`` with unpopulated fields, lowerCamelCase names."""
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=False,
        always_print_fields_with_no_presence=True,
    )


def dumps(value: object) -> str:
    """Compact JSON text (grpc-gateway emits no insignificant whitespace)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
