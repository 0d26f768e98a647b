"""The fast readers and writers of ``shapes`` give json_format's answers, on any input.

The node reads publishes and queries in the common shape without protobuf's ``json_format``
and writes pages and stream lines without it.  Each property here generates bodies in that
shape and around it (other spellings, nulls, odd numbers, bad base64, unknown fields) and
compares the node's answer with the general path's: the same envelopes or request, or the
same refusal.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import codec, shapes
from app.xmtpnode.errors import ApiError
from app.xmtpnode.storage import Envelope, PageCursor

JSON = codec.JSON_CONTENT_TYPE

_blobs = st.binary(max_size=40)
_base64 = st.one_of(
    _blobs.map(lambda b: base64.b64encode(b).decode()),
    _blobs.map(lambda b: base64.urlsafe_b64encode(b).decode()),
    _blobs.map(lambda b: base64.b64encode(b).decode().rstrip("=")),
    st.text(alphabet="AB+/=-_ !", max_size=12),
)
_uint64_like = st.one_of(
    st.integers(min_value=-5, max_value=2**64 + 5),
    st.integers(min_value=0, max_value=2**64 + 5).map(str),
    st.sampled_from(["", " 1", "1e3", "0x10", "-1", "007", "١٢"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
)
_topics = st.one_of(
    st.sampled_from(["/xmtp/0/m-abc/proto", "/xmtp/0/invite-0xAb/proto", ""]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)


def _maybe(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of ``fields`` (and now and then an unknown key)."""
    return st.fixed_dictionaries(
        {}, optional={**fields, "unknownField": st.integers(), "content_topic": _topics}
    )


_envelopes = _maybe({"contentTopic": _topics, "timestampNs": _uint64_like, "message": _base64})
_publishes = st.one_of(
    st.fixed_dictionaries({"envelopes": st.lists(_envelopes, max_size=3)}),
    _maybe({"envelopes": st.one_of(st.lists(_envelopes, max_size=2), st.none(), st.integers())}),
)
_cursors = _maybe({"index": _maybe({"digest": _base64, "senderTimeNs": _uint64_like}) | st.none()})
_paging = _maybe(
    {
        "limit": st.one_of(st.integers(min_value=-1, max_value=2**32 + 1), st.just("10")),
        "direction": st.sampled_from(
            ["SORT_DIRECTION_ASCENDING", "SORT_DIRECTION_DESCENDING", "SORT_DIRECTION_NONE", 1, 7]
        ),
        "cursor": _cursors,
    }
)
_queries = _maybe(
    {
        "contentTopics": st.lists(_topics, max_size=3),
        "startTimeNs": _uint64_like,
        "endTimeNs": _uint64_like,
        "pagingInfo": _paging | st.none(),
    }
)


def _outcome(call: Any) -> object:
    try:
        return call()
    except ApiError as refusal:
        return ("refused", refusal.code)


def _publish(message: object, stamp: object = "1") -> dict[str, Any]:
    return {"envelopes": [{"contentTopic": "/t", "timestampNs": stamp, "message": message}]}


@settings(max_examples=600, deadline=None)
@given(_publishes)
@example(_publish("AAAA!!!!"))  # characters outside the alphabet: refused, not skipped
@example(_publish("AA=="))
@example(_publish("AA==AA=="))  # padding inside
@example(_publish("-_-_"))  # URL-safe
@example(_publish("AA"))  # unpadded
@example(_publish("aGk=", 2**64))
@example(_publish("aGk=", "18446744073709551616"))
@example(_publish("aGk=", True))
def test_publish_reader_matches_json_format(value: dict[str, Any]) -> None:
    body = json.dumps(value).encode()

    def general() -> list[tuple[str, int, bytes]]:
        request = codec.decode_request(body, JSON, api.PublishRequest)
        return [(e.content_topic, e.timestamp_ns, e.message) for e in request.envelopes]

    assert _outcome(lambda: codec.decode_publish(body, JSON)) == _outcome(general)


@settings(max_examples=600, deadline=None)
@given(_queries)
def test_query_reader_matches_json_format(value: dict[str, Any]) -> None:
    body = json.dumps(value).encode()
    fast = _outcome(lambda: codec.decode_query(body, JSON))
    assert fast == _outcome(lambda: codec.decode_request(body, JSON, api.QueryRequest))


def test_the_common_shapes_take_the_fast_path() -> None:
    """What xmtp-js sends is read by ``shapes`` (else the speed-up is lost unnoticed)."""
    publish = {"envelopes": [{"contentTopic": "/t", "timestampNs": "12", "message": "aGk="}]}
    assert shapes.publish_fields(publish) == [("/t", 12, b"hi")]
    query = {
        "contentTopics": ["/t"],
        "startTimeNs": "5",
        "pagingInfo": {
            "limit": 100,
            "direction": "SORT_DIRECTION_ASCENDING",
            "cursor": {"index": {"digest": "AQI=", "senderTimeNs": "9"}},
        },
    }
    request = shapes.query_request(query)
    assert request is not None
    assert request.paging_info.cursor.index.digest == b"\x01\x02"


def _message_to_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


@given(st.text(max_size=20), st.integers(min_value=0, max_value=2**63 - 1), _blobs)
def test_envelope_writer_matches_json_format(topic: str, stamp: int, message: bytes) -> None:
    proto = api.Envelope(content_topic=topic, timestamp_ns=stamp, message=message)
    written = shapes.envelope_json(Envelope(topic, stamp, message))
    assert written == _message_to_dict(proto)


@given(
    st.lists(st.tuples(st.text(max_size=8), st.integers(0, 2**63 - 1), _blobs), max_size=4),
    st.none() | st.tuples(_blobs, st.integers(0, 2**63 - 1)),
    st.integers(0, 100),
    st.sampled_from([1, 2]),
)
def test_page_writer_matches_json_format(
    rows: list[tuple[str, int, bytes]],
    cursor: tuple[bytes, int] | None,
    limit: int,
    direction: int,
) -> None:
    envelopes = [Envelope(*row) for row in rows]
    response = api.QueryResponse(
        envelopes=[api.Envelope(content_topic=t, timestamp_ns=n, message=m) for t, n, m in rows]
    )
    response.paging_info.limit = limit
    response.paging_info.direction = direction  # type: ignore[assignment]
    page_cursor = None
    if cursor is not None:
        page_cursor = PageCursor(*cursor)
        response.paging_info.cursor.index.digest = cursor[0]
        response.paging_info.cursor.index.sender_time_ns = cursor[1]
    expected = _message_to_dict(response)
    expected["pagingInfo"].setdefault("cursor", None)  # grpc-gateway's EmitUnpopulated
    written = shapes.query_response_json(envelopes, page_cursor, limit, direction)
    assert written == expected
