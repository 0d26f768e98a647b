"""Conversation messages: V2 (signed by the sender's pre-key) and V1 (3-DH encrypted).

The key tool reads messages to prove that keys work (and that old pre-keys still decrypt); it
sends them in tests against the reference SDK.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.keyengine.bundles import PrivateKeyBundleV1, PublicKeyBundle, SignedPublicKeyBundle
from app.keyengine.content import EncodedContent, decode_content
from app.keyengine.crypto import aead, secp256k1
from app.keyengine.crypto.hashes import hmac_sha256, sha256
from app.keyengine.dh import three_dh
from app.keyengine.encrypted_bundle import ciphertext_from_proto, ciphertext_to_proto
from app.keyengine.errors import InvalidBundle, InvalidMessage, KeyEngineError
from app.keyengine.keys import Signature, decode_proto
from app.keyengine.proto import content_pb2, message_pb2
from app.keyengine.topics import dm_topic

_HMAC_PERIOD_MS = 1000 * 60 * 60 * 24 * 30


def message_id(message_bytes: bytes) -> str:
    """Hex SHA-256 of the encoded ``Message``: the id every SDK shows."""
    return sha256(message_bytes).hex()


def hmac_key(key_material: bytes, address: str, period: int) -> bytes:
    """Key for the V2 ``sender_hmac`` of ``address`` in 30-day ``period``."""
    return aead.hkdf_sha256(key_material, b"", f"{period}-{address}".encode())


def _parse_message(data: bytes) -> message_pb2.Message:
    return decode_proto(message_pb2.Message, data, "message", InvalidMessage)


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """A decrypted, verified message."""

    id: str
    sender_address: str
    sent_ns: int
    content: EncodedContent


def encode_message_v2(
    bundle: PrivateKeyBundleV1,
    topic: str,
    key_material: bytes,
    content: bytes,
    *,
    created_ns: int | None = None,
    should_push: bool = True,
    now_ms: int | None = None,
) -> bytes:
    """A ``Message{v2}`` as xmtp-js ``ConversationV2.createMessage`` builds it."""
    created = time.time_ns() // 1_000_000 * 1_000_000 if created_ns is None else created_ns
    header_bytes = message_pb2.MessageHeaderV2(created_ns=created, topic=topic).SerializeToString()
    signature = bundle.current_pre_key.sign_digest(sha256(header_bytes + content))
    signed = content_pb2.SignedContent(payload=content)
    signed.sender.CopyFrom(bundle.signed_public_key_bundle().to_proto())
    signed.signature.CopyFrom(signature.to_proto())
    ciphertext = aead.encrypt(signed.SerializeToString(), key_material, header_bytes)
    period = (created // 1_000_000 if now_ms is None else now_ms) // _HMAC_PERIOD_MS
    msg = message_pb2.Message()
    msg.v2.header_bytes = header_bytes
    msg.v2.ciphertext.CopyFrom(ciphertext_to_proto(ciphertext))
    msg.v2.sender_hmac = hmac_sha256(
        hmac_key(key_material, bundle.wallet_address, period), header_bytes
    )
    msg.v2.should_push = should_push
    return msg.SerializeToString()


def decode_message_v2(data: bytes, topic: str, key_material: bytes) -> DecodedMessage:
    """Decrypt and verify a V2 message in the order xmtp-js checks it.

    Refuses a header for another topic, a sender pre-key not signed by the sender identity key
    (the spoofed pre-key attack) and a content signature that does not verify.
    """
    msg = _parse_message(data)
    if msg.WhichOneof("version") != "v2":
        raise InvalidMessage("not a V2 message")
    header = decode_proto(
        message_pb2.MessageHeaderV2, msg.v2.header_bytes, "message header", InvalidMessage
    )
    if header.topic != topic:
        raise InvalidMessage("message header topic does not match the conversation")
    try:
        ciphertext = ciphertext_from_proto(msg.v2.ciphertext)
        plaintext = aead.decrypt(ciphertext, key_material, msg.v2.header_bytes)
        signed = decode_proto(content_pb2.SignedContent, plaintext, "signed content")
        if not signed.HasField("sender") or not signed.HasField("signature"):
            raise InvalidMessage("signed content lacks sender or signature")
        sender = SignedPublicKeyBundle.from_proto(signed.sender)
        signature = Signature.from_proto(signed.signature)
    except InvalidMessage:
        raise
    except KeyEngineError as exc:
        raise InvalidMessage(f"cannot decrypt message: {exc}") from None
    if not sender.pre_key.is_signed_by(sender.identity_key.point):
        raise InvalidMessage("pre-key not signed by identity key")
    digest = sha256(msg.v2.header_bytes + signed.payload)
    if not secp256k1.verify_digest(sender.pre_key.point, digest, signature.raw):
        raise InvalidMessage("content signature does not verify with the sender pre-key")
    try:
        sender_address = sender.wallet_address
        content = decode_content(signed.payload)
    except KeyEngineError as exc:
        raise InvalidMessage(str(exc)) from None
    return DecodedMessage(message_id(data), sender_address, header.created_ns, content)


def encode_message_v1(
    bundle: PrivateKeyBundleV1,
    recipient: PublicKeyBundle,
    content: bytes,
    *,
    timestamp_ms: int | None = None,
) -> bytes:
    """A ``Message{v1}`` from our current pre-key to ``recipient`` (``MessageV1.encode``)."""
    if recipient.pre_key is None:
        raise InvalidBundle("recipient bundle has no pre-key")
    sent = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    header = message_pb2.MessageHeaderV1(timestamp=sent)
    header.sender.CopyFrom(bundle.public_key_bundle().to_proto())
    header.recipient.CopyFrom(recipient.to_proto())
    header_bytes = header.SerializeToString()
    secret = three_dh(
        bundle.identity_key,
        bundle.current_pre_key,
        recipient.identity_key,
        recipient.pre_key,
        is_recipient=False,
    )
    ciphertext = aead.encrypt(content, secret, header_bytes)
    msg = message_pb2.Message()
    msg.v1.header_bytes = header_bytes
    msg.v1.ciphertext.CopyFrom(ciphertext_to_proto(ciphertext))
    return msg.SerializeToString()


def decode_message_v1(
    bundle: PrivateKeyBundleV1, data: bytes, *, topic: str | None = None
) -> DecodedMessage:
    """Decrypt a V1 message sent to us or by us, with the pre-key (current or old) its header names.

    xmtp-js assumes the current pre-key; we look the named one up in the history so messages
    sent before a rotation still decrypt.  When ``topic`` is given it must be the ``dm-`` topic
    of the two addresses in the header.
    """
    msg = _parse_message(data)
    if msg.WhichOneof("version") != "v1":
        raise InvalidMessage("not a V1 message")
    try:
        header = decode_proto(message_pb2.MessageHeaderV1, msg.v1.header_bytes, "message header")
        sender = PublicKeyBundle.from_proto(header.sender)
        recipient = PublicKeyBundle.from_proto(header.recipient)
        if sender.pre_key is None or recipient.pre_key is None:
            raise InvalidMessage("message header bundles lack pre-keys")
        me = bundle.identity_key.public_key.point
        if sender.identity_key.point == me:
            peer, my_pre_point, is_recipient = recipient, sender.pre_key.point, False
        elif recipient.identity_key.point == me:
            peer, my_pre_point, is_recipient = sender, recipient.pre_key.point, True
        else:
            raise InvalidMessage("this message is not addressed to this identity")
        pre_key = bundle.find_pre_key(my_pre_point)
        assert peer.pre_key is not None  # noqa: S101 - checked above
        secret = three_dh(
            bundle.identity_key,
            pre_key,
            peer.identity_key,
            peer.pre_key,
            is_recipient=is_recipient,
        )
        plaintext = aead.decrypt(
            ciphertext_from_proto(msg.v1.ciphertext), secret, msg.v1.header_bytes
        )
        sender_address = sender.wallet_address
        if topic is not None and topic != dm_topic(sender_address, recipient.wallet_address):
            raise InvalidMessage("message topic does not match its sender and recipient")
        content = decode_content(plaintext)
    except InvalidMessage:
        raise
    except KeyEngineError as exc:
        raise InvalidMessage(f"cannot decrypt message: {exc}") from None
    return DecodedMessage(message_id(data), sender_address, header.timestamp * 1_000_000, content)
