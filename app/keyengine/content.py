"""``EncodedContent`` for the text codec (the only content type the key tool needs)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from app.keyengine.errors import InvalidMessage
from app.keyengine.keys import decode_proto
from app.keyengine.proto import content_pb2

TEXT_AUTHORITY = "xmtp.org"
TEXT_TYPE = "text"
_MAX_INFLATED = 10 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class EncodedContent:
    """Decoded ``EncodedContent``: content type, parameters and (decompressed) content bytes."""

    authority_id: str
    type_id: str
    version_major: int
    version_minor: int
    content: bytes
    parameters: dict[str, str] = field(default_factory=dict)
    fallback: str | None = None

    @property
    def is_text(self) -> bool:
        return self.authority_id == TEXT_AUTHORITY and self.type_id == TEXT_TYPE

    def text(self) -> str:
        """The text of an xmtp.org/text content; only UTF-8 exists in the codec."""
        if not self.is_text:
            raise InvalidMessage(f"content type {self.authority_id}/{self.type_id} is not text")
        encoding = self.parameters.get("encoding", "UTF-8")
        if encoding.upper().replace("-", "").replace("_", "") != "UTF8":
            raise InvalidMessage(f"unsupported text encoding {encoding[:40]!r}")
        try:
            return self.content.decode("utf-8")
        except UnicodeError as exc:
            raise InvalidMessage("text content is not valid UTF-8") from exc


def encode_text(text: str) -> bytes:
    """``EncodedContent`` bytes of the xmtp.org/text:1.0 codec (uncompressed)."""
    msg = content_pb2.EncodedContent(content=text.encode("utf-8"))
    msg.type.authority_id = TEXT_AUTHORITY
    msg.type.type_id = TEXT_TYPE
    msg.type.version_major = 1
    msg.type.version_minor = 0
    msg.parameters["encoding"] = "UTF-8"
    return msg.SerializeToString()


def _inflate(data: bytes, compression: int) -> bytes:
    """Inflate at most ``_MAX_INFLATED`` bytes; refuse bombs and truncated streams.

    The output is bounded while inflating (never allocated whole), and the stream must end
    (``eof``: its checksum verified) with no input left over.
    """
    wbits = 31 if compression == content_pb2.COMPRESSION_GZIP else 15
    inflater = zlib.decompressobj(wbits=wbits)
    out = bytearray()
    pending = data
    try:
        while True:
            piece = inflater.decompress(pending, _CHUNK)
            out += piece
            if len(out) > _MAX_INFLATED:
                raise InvalidMessage("content too large once inflated")
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and not piece):
                break
    except zlib.error as exc:
        raise InvalidMessage("compressed content does not inflate") from exc
    if not inflater.eof or inflater.unused_data:
        raise InvalidMessage("compressed content is truncated or has trailing bytes")
    return bytes(out)


def decode_content(data: bytes) -> EncodedContent:
    msg = decode_proto(content_pb2.EncodedContent, data, "encoded content")
    content = msg.content
    if msg.HasField("compression"):
        content = _inflate(content, msg.compression)
    return EncodedContent(
        msg.type.authority_id,
        msg.type.type_id,
        msg.type.version_major,
        msg.type.version_minor,
        content,
        dict(msg.parameters),
        msg.fallback if msg.HasField("fallback") else None,
    )
