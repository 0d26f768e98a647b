"""Recognise an XMTP key artefact from its bytes and describe it as a JSON report.

Protobuf decoders accept almost any bytes as almost any message, so recognition never trusts a
decode alone: each candidate type goes through the engine's strict ``from_bytes`` (which demands
valid curve points, 32-byte scalars, well-formed signatures and ciphertext fields) plus the
fields that type cannot lack.  Candidates are tried from the most to the least constrained, so
the first that holds is the right one.  Reports carry public keys only, never private ones.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Final

from google.protobuf.message import DecodeError

from app.cli.inputs import Decoding
from app.cli.output import CliError, Report
from app.keyengine.attestation import recover_wallet_address
from app.keyengine.authn import MAX_TOKEN_AGE_NS, validate_auth_token
from app.keyengine.bundles import (
    PrivateKeyBundleV1,
    PrivateKeyBundleV2,
    PublicKeyBundle,
    SignedPublicKeyBundle,
    decode_private_key_bundle,
)
from app.keyengine.contact import ContactBundle, ContactVersion, verify_contact
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, ciphertext_from_proto
from app.keyengine.errors import InvalidToken, KeyEngineError
from app.keyengine.invitations import SealedInvitation
from app.keyengine.keys import (
    NS_PER_MS,
    PublicKey,
    Signature,
    SignedPrivateKey,
    SignedPublicKey,
    verify_pre_key_signature,
)
from app.keyengine.keys import PrivateKey as PrivateKeyV1
from app.keyengine.messages import message_id
from app.keyengine.proto import authn_pb2, message_pb2, private_key_pb2

_PARSE_ERRORS: Final = (KeyEngineError, DecodeError, ValueError, TypeError, RuntimeError)
"""What a failed decode can raise: engine errors, and protobuf's own for the messages the
engine has no header-only decoder for (``Message``, ``Token``)."""

_TOPIC_PREFIX: Final = "/xmtp/"

Detector = Callable[[bytes], Report | None]


def _created_ns(key: PublicKey | SignedPublicKey) -> int:
    """Creation time in nanoseconds of a V1 (milliseconds) or V2 public key."""
    if isinstance(key, PublicKey):
        return key.timestamp_ms * NS_PER_MS
    return key.created_at_ns


# --- descriptions ----------------------------------------------------------------------------


def describe_public_bundle(bundle: PublicKeyBundle | SignedPublicKeyBundle) -> Report:
    """Keys of a public bundle and the check of its wallet → identity → pre-key chain."""
    version = ContactVersion.V2 if isinstance(bundle, SignedPublicKeyBundle) else ContactVersion.V1
    check = verify_contact(ContactBundle(version, bundle))
    pre_key = bundle.pre_key
    return {
        "wallet_address": check.wallet_address,
        "identity_key": bundle.identity_key.point.hex(),
        "identity_created_ns": _created_ns(bundle.identity_key),
        "prekey": None if pre_key is None else pre_key.point.hex(),
        "prekey_created_ns": None if pre_key is None else _created_ns(pre_key),
        "signatures_valid": check.valid,
        "errors": check.errors,
    }


def _pre_key_label(index: int) -> str:
    return "current pre-key" if index == 0 else f"pre-key {index} (history)"


def describe_private_bundle(
    bundle: PrivateKeyBundleV1 | PrivateKeyBundleV2, *, wrapped: bool | None = None
) -> Report:
    """Public keys of a private bundle and every check ``PrivateKeyBundleV1.verify`` makes.

    All problems are listed, not just the first; for a V1 bundle ``verify`` itself runs last so
    this report is never more lenient than the engine.
    """
    errors: list[str] = []
    identity: PrivateKeyV1 | SignedPrivateKey = bundle.identity_key
    pre_keys: Sequence[PrivateKeyV1 | SignedPrivateKey] = bundle.pre_keys
    identity_public = identity.public_key
    if not identity.matches_public_key():
        errors.append("identity key: the private key does not match its public key")
    for index, pre_key in enumerate(pre_keys):
        if not pre_key.matches_public_key():
            errors.append(f"{_pre_key_label(index)}: the private key does not match its public key")
    wallet: str | None
    try:
        wallet = bundle.wallet_address
    except KeyEngineError as exc:
        wallet = None
        errors.append(f"identity key attestation: {exc}")
    for index, pre_key in enumerate(pre_keys):
        try:
            verify_pre_key_signature(identity_public.point, pre_key.public_key)
        except KeyEngineError as exc:
            errors.append(f"{_pre_key_label(index)}: {exc}")
    if isinstance(bundle, PrivateKeyBundleV1) and not errors:
        try:
            bundle.verify()
        except KeyEngineError as exc:
            errors.append(str(exc))
    kind = (
        "private_key_bundle_v1"
        if isinstance(bundle, PrivateKeyBundleV1)
        else "private_key_bundle_v2"
    )
    report: Report = {"type": kind}
    if wrapped is not None:
        report["wrapped"] = wrapped
    report.update(
        {
            "wallet_address": wallet,
            "identity_key": identity_public.point.hex(),
            "identity_created_ns": _created_ns(identity_public),
            "prekey": pre_keys[0].public_key.point.hex(),
            "prekeys": [key.public_key.point.hex() for key in pre_keys],
            "prekeys_detail": [
                {
                    "public_key": key.public_key.point.hex(),
                    "created_ns": _created_ns(key.public_key),
                }
                for key in pre_keys
            ],
            "signatures_valid": not errors,
            "errors": errors,
        }
    )
    return report


def _prefixed(who: str, report: Report) -> list[str]:
    errors = report["errors"]
    assert isinstance(errors, list)  # noqa: S101 - built by describe_public_bundle
    return [f"{who}: {error}" for error in errors]


def _parties(sender: Report, recipient: Report) -> Report:
    return {
        "sender": sender,
        "recipient": recipient,
        "signatures_valid": bool(sender["signatures_valid"] and recipient["signatures_valid"]),
        "errors": _prefixed("sender", sender) + _prefixed("recipient", recipient),
    }


# --- detectors, most constrained first -----------------------------------------------------


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


def _private_key_bundle(data: bytes) -> Report | None:
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
    return describe_private_bundle(bundle, wrapped=wrapped)


def _is_wrapped_encrypted_bundle(data: bytes) -> bool:
    try:
        wrapper = private_key_pb2.EncryptedPrivateKeyBundle.FromString(data)
    except _PARSE_ERRORS:
        return False
    return wrapper.WhichOneof("version") == "v1" and wrapper.v1.HasField("ciphertext")


def describe_encrypted_bundle(encrypted: EncryptedPrivateKeyBundle, *, wrapped: bool) -> Report:
    request = encrypted.signature_request
    return {
        "type": "encrypted_private_key_bundle",
        "wrapped": wrapped,
        "wallet_pre_key": encrypted.wallet_pre_key.hex(),
        "signature_purpose": request.purpose.value,
        "signature_text": request.text,
        "ciphertext_length": len(encrypted.ciphertext.payload),
        "errors": [],
    }


def parse_encrypted_bundle(data: bytes) -> EncryptedPrivateKeyBundle | None:
    try:
        return EncryptedPrivateKeyBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None


def _encrypted_private_key_bundle(data: bytes) -> Report | None:
    encrypted = parse_encrypted_bundle(data)
    if encrypted is None:
        return None
    return describe_encrypted_bundle(encrypted, wrapped=_is_wrapped_encrypted_bundle(data))


def _sealed_invitation(data: bytes) -> Report | None:
    try:
        sealed = SealedInvitation.from_bytes(data)
    except _PARSE_ERRORS:
        return None
    header = sealed.header
    return {
        "type": "sealed_invitation",
        "created_ns": header.created_ns,
        **_parties(describe_public_bundle(header.sender), describe_public_bundle(header.recipient)),
    }


def _message_v1(data: bytes, msg: message_pb2.MessageV1) -> Report | None:
    # The engine only decodes V1 messages while decrypting them; the header is read here.
    try:
        if not msg.HasField("ciphertext"):
            return None
        ciphertext_from_proto(msg.ciphertext)
        header = message_pb2.MessageHeaderV1.FromString(msg.header_bytes)
        if not header.HasField("sender") or not header.HasField("recipient"):
            return None
        sender = PublicKeyBundle.from_proto(header.sender)
        recipient = PublicKeyBundle.from_proto(header.recipient)
    except _PARSE_ERRORS:
        return None
    return {
        "type": "message_v1",
        "id": message_id(data),
        "timestamp_ms": header.timestamp,
        "created_ns": header.timestamp * NS_PER_MS,
        **_parties(describe_public_bundle(sender), describe_public_bundle(recipient)),
    }


def _message_v2(data: bytes, msg: message_pb2.MessageV2) -> Report | None:
    try:
        if not msg.HasField("ciphertext"):
            return None
        ciphertext_from_proto(msg.ciphertext)
        header = message_pb2.MessageHeaderV2.FromString(msg.header_bytes)
    except _PARSE_ERRORS:
        return None
    if not header.topic.startswith(_TOPIC_PREFIX):
        return None
    return {
        "type": "message_v2",
        "id": message_id(data),
        "topic": header.topic,
        "created_ns": header.created_ns,
        "has_sender_hmac": msg.HasField("sender_hmac"),
        "should_push": msg.should_push if msg.HasField("should_push") else None,
        "note": "the sender's keys are inside the encrypted payload; only the header is shown",
        "errors": [],
    }


def _message(data: bytes) -> Report | None:
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


def _auth_token(data: bytes) -> Report | None:
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
    wallet: str | None
    try:
        wallet = recover_wallet_address(identity)
    except KeyEngineError:
        wallet = None
    return {
        "type": "auth_token",
        "wallet_address": wallet,
        "auth_data_wallet": auth_data.wallet_addr,
        "identity_key": identity.point.hex(),
        "created_ns": auth_data.created_ns,
        "expires_ns": auth_data.created_ns + MAX_TOKEN_AGE_NS,
        "signatures_valid": signatures_valid,
        "valid": valid,
        "errors": errors,
    }


_CONTACT_TYPES: Final = {
    ContactVersion.V1: "contact_bundle_v1",
    ContactVersion.V2: "contact_bundle_v2",
}


def _contact_bundle(data: bytes) -> Report | None:
    """ContactBundle v1/v2, or a bare PublicKeyBundle (the legacy contact form).

    A bare ``PublicKeyBundle`` and a legacy contact are the same bytes: one without a pre-key
    can only be a very old contact and is reported as ``contact_bundle_legacy``; one with a
    pre-key as ``public_key_bundle``.
    """
    try:
        contact = ContactBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None
    if contact.version is ContactVersion.LEGACY:
        kind = "public_key_bundle" if contact.pre_key_point is not None else "contact_bundle_legacy"
    else:
        kind = _CONTACT_TYPES[contact.version]
    return {"type": kind, **describe_public_bundle(contact.key_bundle)}


def _signed_public_key_bundle(data: bytes) -> Report | None:
    try:
        bundle = SignedPublicKeyBundle.from_bytes(data)
    except _PARSE_ERRORS:
        return None
    return {"type": "signed_public_key_bundle", **describe_public_bundle(bundle)}


DETECTORS: Final[tuple[Detector, ...]] = (
    _private_key_bundle,
    _encrypted_private_key_bundle,
    _sealed_invitation,
    _message,
    _auth_token,
    _contact_bundle,
    _signed_public_key_bundle,
)


def detect(data: bytes) -> Report | None:
    """The report of the first artefact type ``data`` holds, or ``None``."""
    for detector in DETECTORS:
        report = detector(data)
        if report is not None:
            return report
    return None


def _encodings_tried(readings: Sequence[Decoding]) -> str:
    names = {"raw": "raw bytes", "base64url": "URL-safe base64"}
    return ", ".join(names.get(reading.encoding, reading.encoding) for reading in readings)


def identify(readings: Sequence[Decoding]) -> Report:
    """Report on the first reading of the input that holds a known artefact."""
    for reading in readings:
        report = detect(reading.data)
        if report is not None:
            return {"type": report["type"], "input_encoding": reading.encoding, **report}
    raise CliError(
        "the input is not an XMTP key artefact this tool recognises "
        f"(read as {_encodings_tried(readings)})"
    )


def find_encrypted_bundle(readings: Sequence[Decoding]) -> EncryptedPrivateKeyBundle:
    """The encrypted private key bundle the input holds; a clear error naming what it is else."""
    for reading in readings:
        encrypted = parse_encrypted_bundle(reading.data)
        if encrypted is not None:
            return encrypted
    for reading in readings:
        report = detect(reading.data)
        if report is not None:
            raise CliError(
                f"the input holds a {report['type']}, not an encrypted private key bundle"
            )
    raise CliError("the input is not an encrypted private key bundle")
