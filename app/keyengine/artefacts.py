"""Recognise an XMTP key artefact from its bytes, and the verdict on its signatures.

Protobuf decoders accept almost any bytes as almost any message, so recognition never trusts a
decode alone: each candidate type goes through the engine's strict ``from_bytes`` (which demands
valid curve points, 32-byte scalars, well-formed signatures and ciphertext fields) plus the
fields that type cannot lack.  Candidates are tried from the most to the least constrained, so
the first that holds is the right one.  Artefacts carry public keys only, never private ones;
front ends format them (``xmtp-keys inspect`` prints them as JSON).
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from google.protobuf.message import DecodeError

from app.keyengine.authn import MAX_TOKEN_AGE_NS, validate_auth_token
from app.keyengine.bundles import (
    PrivateKeyBundleV1,
    PrivateKeyBundleV2,
    PublicKeyBundle,
    SignedPublicKeyBundle,
    decode_private_key_bundle,
)
from app.keyengine.contact import ContactBundle, ContactVersion
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, ciphertext_from_proto
from app.keyengine.errors import InvalidToken, KeyEngineError
from app.keyengine.invitations import SealedInvitation
from app.keyengine.keys import PublicKey, Signature
from app.keyengine.messages import message_id
from app.keyengine.proto import authn_pb2, message_pb2, private_key_pb2
from app.keyengine.verdicts import (
    BundleVerdict,
    check_attestation,
    check_private_bundle,
    check_public_bundle,
)

_PARSE_ERRORS: Final = (KeyEngineError, DecodeError, ValueError, TypeError, RuntimeError)
"""What a failed decode can raise: engine errors, and protobuf's own for the messages the
engine has no header-only decoder for (``Message``, ``Token``)."""

_TOPIC_PREFIX: Final = "/xmtp/"


class ArtefactKind(enum.StrEnum):
    """The artefact types ``inspect`` recognises; the value (the lower-case name) is the
    ``type`` it reports."""

    PRIVATE_KEY_BUNDLE_V1 = enum.auto()
    PRIVATE_KEY_BUNDLE_V2 = enum.auto()
    ENCRYPTED_PRIVATE_KEY_BUNDLE = enum.auto()
    SEALED_INVITATION = enum.auto()
    MESSAGE_V1 = enum.auto()
    MESSAGE_V2 = enum.auto()
    AUTH_TOKEN = enum.auto()
    CONTACT_BUNDLE_V1 = enum.auto()
    CONTACT_BUNDLE_V2 = enum.auto()
    CONTACT_BUNDLE_LEGACY = enum.auto()
    """A bare ``PublicKeyBundle`` without a pre-key: only a very old contact looks like this."""
    PUBLIC_KEY_BUNDLE = enum.auto()
    SIGNED_PUBLIC_KEY_BUNDLE = enum.auto()


@dataclass(frozen=True, slots=True)
class PrivateBundleArtefact:
    kind: ArtefactKind
    wrapped: bool | None
    """Wrapped ``PrivateKeyBundle{v1|v2}`` or a bare V1; ``None`` when not read from bytes."""
    verdict: BundleVerdict


@dataclass(frozen=True, slots=True)
class EncryptedBundleArtefact:
    wrapped: bool
    encrypted: EncryptedPrivateKeyBundle
    kind: ArtefactKind = ArtefactKind.ENCRYPTED_PRIVATE_KEY_BUNDLE


@dataclass(frozen=True, slots=True)
class PublicBundleArtefact:
    """A contact bundle (any version) or a bare public key bundle."""

    kind: ArtefactKind
    verdict: BundleVerdict


@dataclass(frozen=True, slots=True)
class PartiesArtefact:
    """A sealed invitation or V1 message: the sender's and the recipient's public bundles."""

    kind: ArtefactKind
    created_ns: int
    sender: BundleVerdict
    recipient: BundleVerdict
    message_id: str = ""
    timestamp_ms: int = 0
    """V1 messages only: the header's millisecond timestamp."""

    @property
    def signatures_valid(self) -> bool:
        return self.sender.signatures_valid and self.recipient.signatures_valid

    @property
    def errors(self) -> tuple[str, ...]:
        return (
            *(f"sender: {error}" for error in self.sender.errors),
            *(f"recipient: {error}" for error in self.recipient.errors),
        )


@dataclass(frozen=True, slots=True)
class MessageV2Artefact:
    """A V2 message: only its header is readable without the conversation's key material."""

    message_id: str
    topic: str
    created_ns: int
    has_sender_hmac: bool
    should_push: bool | None
    kind: ArtefactKind = ArtefactKind.MESSAGE_V2


@dataclass(frozen=True, slots=True)
class AuthTokenArtefact:
    wallet_address: str | None
    auth_data_wallet: str
    identity_key: PublicKey
    created_ns: int
    signatures_valid: bool
    """Valid as of the token's own creation time."""
    valid: bool
    """Valid now (includes expiry)."""
    errors: tuple[str, ...]
    kind: ArtefactKind = ArtefactKind.AUTH_TOKEN

    @property
    def expires_ns(self) -> int:
        return self.created_ns + MAX_TOKEN_AGE_NS


Artefact = (
    PrivateBundleArtefact
    | EncryptedBundleArtefact
    | PublicBundleArtefact
    | PartiesArtefact
    | MessageV2Artefact
    | AuthTokenArtefact
)

# --- detectors, most constrained first -----------------------------------------------------


def private_bundle_artefact(
    bundle: PrivateKeyBundleV1 | PrivateKeyBundleV2, *, wrapped: bool | None = None
) -> PrivateBundleArtefact:
    kind = (
        ArtefactKind.PRIVATE_KEY_BUNDLE_V1
        if isinstance(bundle, PrivateKeyBundleV1)
        else ArtefactKind.PRIVATE_KEY_BUNDLE_V2
    )
    return PrivateBundleArtefact(kind, wrapped, check_private_bundle(bundle))


def _is_wrapped_private_bundle(data: bytes) -> bool:
    """Mirror of ``decode_private_key_bundle``'s choice between the wrapped and bare forms."""
    try:
        wrapper = private_key_pb2.PrivateKeyBundle.FromString(data)
    except _PARSE_ERRORS:
        return False
    version = wrapper.WhichOneof("version")
    if version == "v1":
        return wrapper.v1.identity_key.HasField("secp256k1")
    if version == "v2":
        return wrapper.v2.identity_key.HasField("secp256k1")
    return False


def _private_key_bundle(data: bytes) -> PrivateBundleArtefact | None:
    try:
        bundle = decode_private_key_bundle(data)
    except _PARSE_ERRORS:
        return None
    if data == bundle.to_bytes():
        wrapped = True
    elif isinstance(bundle, PrivateKeyBundleV1) and data == bundle.to_unwrapped_bytes():
        wrapped = False
    else:
        wrapped = _is_wrapped_private_bundle(data)
    return private_bundle_artefact(bundle, wrapped=wrapped)


def read_encrypted_bundle(data: bytes) -> EncryptedPrivateKeyBundle | None:
    """The encrypted private key bundle ``data`` holds, else ``None``."""
    try:
        return EncryptedPrivateKeyBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None


def _encrypted_private_key_bundle(data: bytes) -> EncryptedBundleArtefact | None:
    encrypted = read_encrypted_bundle(data)
    if encrypted is None:
        return None
    try:
        wrapper = private_key_pb2.EncryptedPrivateKeyBundle.FromString(data)
        wrapped = wrapper.WhichOneof("version") == "v1" and wrapper.v1.HasField("ciphertext")
    except _PARSE_ERRORS:
        wrapped = False
    return EncryptedBundleArtefact(wrapped, encrypted)


def _sealed_invitation(data: bytes) -> PartiesArtefact | None:
    try:
        header = SealedInvitation.from_bytes(data).header
    except _PARSE_ERRORS:
        return None
    return PartiesArtefact(
        ArtefactKind.SEALED_INVITATION,
        header.created_ns,
        check_public_bundle(header.sender),
        check_public_bundle(header.recipient),
    )


_Header = TypeVar("_Header", message_pb2.MessageHeaderV1, message_pb2.MessageHeaderV2)


def _message_header(
    msg: message_pb2.MessageV1 | message_pb2.MessageV2, header_type: type[_Header]
) -> _Header | None:
    """The header of a message with a well-formed ciphertext, else ``None``.

    The engine decodes messages only while decrypting them; without the keys, the header is
    all there is to read.
    """
    try:
        if not msg.HasField("ciphertext"):
            return None
        ciphertext_from_proto(msg.ciphertext)
        return header_type.FromString(msg.header_bytes)
    except _PARSE_ERRORS:
        return None


def _message_v1(data: bytes, msg: message_pb2.MessageV1) -> PartiesArtefact | None:
    header = _message_header(msg, message_pb2.MessageHeaderV1)
    if header is None or not header.HasField("sender") or not header.HasField("recipient"):
        return None
    try:
        sender = PublicKeyBundle.from_proto(header.sender)
        recipient = PublicKeyBundle.from_proto(header.recipient)
    except _PARSE_ERRORS:
        return None
    return PartiesArtefact(
        ArtefactKind.MESSAGE_V1,
        header.timestamp * 1_000_000,
        check_public_bundle(sender),
        check_public_bundle(recipient),
        message_id=message_id(data),
        timestamp_ms=header.timestamp,
    )


def _message_v2(data: bytes, msg: message_pb2.MessageV2) -> MessageV2Artefact | None:
    header = _message_header(msg, message_pb2.MessageHeaderV2)
    if header is None or not header.topic.startswith(_TOPIC_PREFIX):
        return None
    return MessageV2Artefact(
        message_id(data),
        header.topic,
        header.created_ns,
        msg.HasField("sender_hmac"),
        msg.should_push if msg.HasField("should_push") else None,
    )


def _message(data: bytes) -> PartiesArtefact | MessageV2Artefact | None:
    try:
        msg = message_pb2.Message.FromString(data)
    except _PARSE_ERRORS:
        return None
    version = msg.WhichOneof("version")
    if version == "v1":
        return _message_v1(data, msg.v1)
    if version == "v2":
        return _message_v2(data, msg.v2)
    return None


def _auth_token(data: bytes) -> AuthTokenArtefact | None:
    try:
        token = authn_pb2.Token.FromString(data)
        if not token.HasField("identity_key") or not token.HasField("auth_data_signature"):
            return None
        identity = PublicKey.from_proto(token.identity_key)
        Signature.from_proto(token.auth_data_signature)
        auth_data = authn_pb2.AuthData.FromString(token.auth_data_bytes)
    except _PARSE_ERRORS:
        return None
    if not auth_data.wallet_addr:
        return None
    encoded = base64.b64encode(data).decode("ascii")
    errors: list[str] = []
    # Signatures first, as of the token's own creation time; then validity now (expiry).
    try:
        validate_auth_token(encoded, now_ns=auth_data.created_ns)
        signatures_valid = True
    except InvalidToken as exc:
        signatures_valid = False
        errors.append(str(exc))
    try:
        validate_auth_token(encoded)
        valid = True
    except InvalidToken as exc:
        valid = False
        if str(exc) not in errors:
            errors.append(str(exc))
    return AuthTokenArtefact(
        check_attestation(identity).recovered,
        auth_data.wallet_addr,
        identity,
        auth_data.created_ns,
        signatures_valid,
        valid,
        tuple(errors),
    )


_CONTACT_KINDS: Final = {
    ContactVersion.V1: ArtefactKind.CONTACT_BUNDLE_V1,
    ContactVersion.V2: ArtefactKind.CONTACT_BUNDLE_V2,
}


def _contact_bundle(data: bytes) -> PublicBundleArtefact | None:
    """ContactBundle v1/v2, or a bare PublicKeyBundle (the legacy contact form).

    A bare ``PublicKeyBundle`` and a legacy contact are the same bytes: one without a pre-key
    can only be a very old contact (``contact_bundle_legacy``); one with a pre-key is reported
    as a ``public_key_bundle``.
    """
    try:
        contact = ContactBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None
    if contact.version is ContactVersion.LEGACY:
        kind = (
            ArtefactKind.PUBLIC_KEY_BUNDLE
            if contact.pre_key_point is not None
            else ArtefactKind.CONTACT_BUNDLE_LEGACY
        )
    else:
        kind = _CONTACT_KINDS[contact.version]
    return PublicBundleArtefact(kind, check_public_bundle(contact.key_bundle))


def _signed_public_key_bundle(data: bytes) -> PublicBundleArtefact | None:
    try:
        bundle = SignedPublicKeyBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None
    return PublicBundleArtefact(ArtefactKind.SIGNED_PUBLIC_KEY_BUNDLE, check_public_bundle(bundle))


DETECTORS: Final[tuple[Callable[[bytes], Artefact | None], ...]] = (
    _private_key_bundle,
    _encrypted_private_key_bundle,
    _sealed_invitation,
    _message,
    _auth_token,
    _contact_bundle,
    _signed_public_key_bundle,
)


def detect(data: bytes) -> Artefact | None:
    """The first artefact type ``data`` holds, or ``None``."""
    for detector in DETECTORS:
        artefact = detector(data)
        if artefact is not None:
            return artefact
    return None
