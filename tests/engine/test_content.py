"""Compressed content (``content``): inflation limits, truncation, gzip bombs, odd encodings."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from app.keyengine.content import decode_content
from app.keyengine.errors import InvalidMessage
from app.keyengine.proto import content_pb2

MAX_INFLATED = 10 * 1024 * 1024


def _compressed(content: bytes, compression: int, encoding: str = "UTF-8") -> bytes:
    msg = content_pb2.EncodedContent(content=content)
    msg.type.authority_id = "xmtp.org"
    msg.type.type_id = "text"
    msg.type.version_major = 1
    msg.parameters["encoding"] = encoding
    msg.compression = compression  # type: ignore[assignment]
    return msg.SerializeToString()


def test_content_inflating_past_the_limit_is_refused() -> None:
    text = b"a" * (MAX_INFLATED + 1)
    for compression, packed in (
        (content_pb2.COMPRESSION_GZIP, gzip.compress(text, mtime=0)),
        (content_pb2.COMPRESSION_DEFLATE, zlib.compress(text)),
    ):
        with pytest.raises(InvalidMessage, match="too large"):
            decode_content(_compressed(packed, compression))


def test_truncated_compressed_content_is_refused() -> None:
    text = ("hello " * 200).encode()
    for compression, packed in (
        (content_pb2.COMPRESSION_GZIP, gzip.compress(text, mtime=0)),
        (content_pb2.COMPRESSION_DEFLATE, zlib.compress(text)),
    ):
        with pytest.raises(InvalidMessage):
            decode_content(_compressed(packed[: len(packed) // 2], compression))


def test_gzip_bomb_is_refused_without_inflating_it_whole() -> None:
    bomb = gzip.compress(b"\x00" * (32 * 1024 * 1024), mtime=0)  # 32 MiB in ~32 KiB
    data = _compressed(bomb, content_pb2.COMPRESSION_GZIP)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidMessage):
            decode_content(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_INFLATED, f"inflating peaked at {peak >> 20} MiB"


@pytest.mark.parametrize(
    ("encoding", "content"),
    [("idna", b"xn--"), ("idna", b"xn--99999999999"), ("punycode", b"\x00 "), ("nope", b"x")],
)
def test_text_in_an_odd_declared_encoding_fails_as_invalid_message(
    encoding: str, content: bytes
) -> None:
    msg = content_pb2.EncodedContent(content=content)
    msg.type.authority_id = "xmtp.org"
    msg.type.type_id = "text"
    msg.parameters["encoding"] = encoding
    decoded = decode_content(msg.SerializeToString())
    with pytest.raises(InvalidMessage):
        decoded.text()
