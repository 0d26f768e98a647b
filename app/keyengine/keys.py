"""XMTP key values, V1 ("legacy") and V2, with strict validation on the way in.

``PublicKey``/``PrivateKey`` are the V1 forms the reference client keeps as its source of truth
(timestamps in milliseconds); ``SignedPublicKey``/``SignedPrivateKey`` are the V2 forms.  A V2
key converted from a V1 key keeps the V1 "bytes to sign" verbatim as ``key_bytes``, so its
``created_ns`` field actually holds milliseconds; values below ``MS_NS_THRESHOLD`` are read as
such.  Private key bytes are excluded from ``repr`` so they cannot leak into logs or tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, TypeVar

from google.protobuf.message import DecodeError, Message

from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.ethereum import address_of_public_key
from app.keyengine.crypto.hashes import sha256
from app.keyengine.errors import (
    BadSignature,
    InvalidBundle,
    InvalidKey,
    InvalidSignature,
    KeyEngineError,
)
from app.keyengine.proto import private_key_pb2, public_key_pb2, signature_pb2

MS_NS_THRESHOLD: Final = 10**18
"""``created_ns`` values below this come from legacy keys and are really milliseconds."""

NS_PER_MS: Final = 1_000_000
MAX_UINT64: Final = 2**64 - 1


def _check_timestamp(value: int, what: str) -> None:
    if not 0 <= value <= MAX_UINT64:
        raise InvalidKey(f"{what} timestamp is out of range")


_M = TypeVar("_M", bound=Message)


def decode_proto(
    message_type: type[_M],
    data: bytes,
    what: str,
    error: type[KeyEngineError] = InvalidBundle,
) -> _M:
    """Decode protobuf bytes, turning every decoder failure into ``error`` (a typed error)."""
    try:
        return message_type.FromString(data)
    except (DecodeError, RuntimeError, ValueError, TypeError) as exc:
        raise error(f"{what}: not a valid protobuf encoding") from exc


@dataclass(frozen=True, slots=True)
class Signature:
    """A 64-byte compact ECDSA signature with its recovery id.

    ``by_wallet`` selects the protobuf case: ``wallet_ecdsa_compact`` (a wallet's signature in a
    V2 structure) or ``ecdsa_compact`` (everything else, including wallet signatures in V1).
    """

    raw: bytes
    recovery: int
    by_wallet: bool = False

    def __post_init__(self) -> None:
        if len(self.raw) != secp256k1.SIGNATURE_LENGTH:
            raise InvalidSignature(f"signature must be 64 bytes, got {len(self.raw)}")
        if self.recovery not in (0, 1):
            raise InvalidSignature(f"recovery id must be 0 or 1, got {self.recovery}")

    @classmethod
    def from_wallet_bytes(cls, signature: bytes, *, by_wallet: bool) -> Signature:
        """Split a 65-byte ``r || s || v`` wallet signature (v in 0, 1, 27 or 28)."""
        if len(signature) != 65:
            raise InvalidSignature(f"wallet signature must be 65 bytes, got {len(signature)}")
        v = signature[64]
        if v not in (0, 1, 27, 28):
            raise InvalidSignature(f"unsupported wallet signature v={v}")
        return cls(signature[:64], v % 27, by_wallet)

    def to_wallet_bytes(self) -> bytes:
        """The 65-byte ``r || s || v`` form with v = 27/28, as Ethereum wallets return it."""
        return self.raw + bytes([27 + self.recovery])

    def as_wallet(self, by_wallet: bool = True) -> Signature:
        """The same signature in the other protobuf case."""
        return Signature(self.raw, self.recovery, by_wallet)

    def to_proto(self) -> signature_pb2.Signature:
        msg = signature_pb2.Signature()
        part = msg.wallet_ecdsa_compact if self.by_wallet else msg.ecdsa_compact
        part.bytes = self.raw
        part.recovery = self.recovery
        return msg

    @classmethod
    def from_proto(cls, msg: signature_pb2.Signature) -> Signature:
        case = msg.WhichOneof("union")
        if case == "ecdsa_compact":
            return cls(msg.ecdsa_compact.bytes, msg.ecdsa_compact.recovery, False)
        if case == "wallet_ecdsa_compact":
            return cls(msg.wallet_ecdsa_compact.bytes, msg.wallet_ecdsa_compact.recovery, True)
        raise InvalidSignature("signature has no ECDSA value")

    def recover(self, digest: bytes) -> bytes:
        """Public key that made this signature over ``digest``."""
        return secp256k1.recover_public_key(digest, self.raw, self.recovery)


def _check_point(point: bytes, what: str) -> None:
    try:
        secp256k1.validate_public_key(point)
    except InvalidKey as exc:
        raise InvalidKey(f"{what}: {exc}") from None


def encode_unsigned_public_key(created: int, point: bytes) -> bytes:
    """Encode ``{1: created, 3: {1: point}}``, the bytes every key signature covers.

    The V1 ``PublicKey`` without signature and the V2 ``UnsignedPublicKey`` share this layout.
    """
    msg = public_key_pb2.UnsignedPublicKey(created_ns=created)
    msg.secp256k1_uncompressed.bytes = point
    return msg.SerializeToString()


@dataclass(frozen=True, slots=True)
class PublicKey:
    """V1 public key: millisecond timestamp, 65-byte point and an optional signature."""

    timestamp_ms: int
    point: bytes
    signature: Signature | None = None

    def __post_init__(self) -> None:
        _check_timestamp(self.timestamp_ms, "public key")
        _check_point(self.point, "public key")

    def bytes_to_sign(self) -> bytes:
        """The encoding without the signature field: what wallets and identity keys sign."""
        return encode_unsigned_public_key(self.timestamp_ms, self.point)

    @property
    def address(self) -> str:
        """Ethereum address of this key itself (not of the wallet that signed it)."""
        return address_of_public_key(self.point)

    def with_signature(self, signature: Signature) -> PublicKey:
        return PublicKey(self.timestamp_ms, self.point, signature)

    def unsigned(self) -> PublicKey:
        return PublicKey(self.timestamp_ms, self.point)

    def is_signed_by(self, signer_point: bytes) -> bool:
        """True when our signature is ``signer_point``'s ECDSA over SHA-256(bytes to sign)."""
        if self.signature is None:
            return False
        return secp256k1.verify_digest(
            signer_point, sha256(self.bytes_to_sign()), self.signature.raw
        )

    def to_proto(self) -> public_key_pb2.PublicKey:
        msg = public_key_pb2.PublicKey(timestamp=self.timestamp_ms)
        msg.secp256k1_uncompressed.bytes = self.point
        if self.signature is not None:
            msg.signature.CopyFrom(self.signature.to_proto())
        return msg

    def to_bytes(self) -> bytes:
        return self.to_proto().SerializeToString()

    @classmethod
    def from_proto(cls, msg: public_key_pb2.PublicKey) -> PublicKey:
        if msg.WhichOneof("union") != "secp256k1_uncompressed":
            raise InvalidKey("public key has no secp256k1 point")
        signature = Signature.from_proto(msg.signature) if msg.HasField("signature") else None
        return cls(msg.timestamp, msg.secp256k1_uncompressed.bytes, signature)

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        return cls.from_proto(decode_proto(public_key_pb2.PublicKey, data, "PublicKey"))


@dataclass(frozen=True, slots=True)
class SignedPublicKey:
    """V2 public key: the exact signed ``key_bytes`` plus the signature over them.

    ``key_bytes`` is kept verbatim (signatures cover these bytes as received); ``created_ns``
    and ``point`` are decoded from it on construction.
    """

    key_bytes: bytes
    signature: Signature
    created_ns: int = field(init=False, compare=False)
    point: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        unsigned = decode_proto(
            public_key_pb2.UnsignedPublicKey, self.key_bytes, "UnsignedPublicKey"
        )
        if unsigned.WhichOneof("union") != "secp256k1_uncompressed":
            raise InvalidKey("signed public key has no secp256k1 point")
        point = unsigned.secp256k1_uncompressed.bytes
        _check_point(point, "signed public key")
        object.__setattr__(self, "created_ns", unsigned.created_ns)
        object.__setattr__(self, "point", point)

    @property
    def is_from_legacy(self) -> bool:
        """True when ``created_ns`` really holds milliseconds (a converted V1 key)."""
        return self.created_ns < MS_NS_THRESHOLD

    @property
    def created_at_ns(self) -> int:
        """Creation time in nanoseconds, whatever unit the key bytes use."""
        return self.created_ns * NS_PER_MS if self.is_from_legacy else self.created_ns

    @property
    def address(self) -> str:
        return address_of_public_key(self.point)

    def is_signed_by(self, signer_point: bytes) -> bool:
        return secp256k1.verify_digest(signer_point, sha256(self.key_bytes), self.signature.raw)

    @classmethod
    def from_legacy(cls, key: PublicKey, *, signed_by_wallet: bool) -> SignedPublicKey:
        """Convert a signed V1 key; an identity key's wallet signature moves to the wallet case."""
        if key.signature is None:
            raise InvalidSignature("cannot convert an unsigned legacy key")
        return cls(key.bytes_to_sign(), key.signature.as_wallet(signed_by_wallet))

    def to_legacy(self) -> PublicKey:
        """Convert back to V1; only keys that came from V1 (millisecond ``created_ns``) can."""
        if not self.is_from_legacy:
            raise InvalidBundle("a V2-native key (nanosecond timestamp) has no V1 form")
        legacy = PublicKey(self.created_ns, self.point, self.signature.as_wallet(False))
        if legacy.bytes_to_sign() != self.key_bytes:
            raise InvalidBundle("key bytes are not in canonical legacy form")
        return legacy

    def to_proto(self) -> public_key_pb2.SignedPublicKey:
        msg = public_key_pb2.SignedPublicKey(key_bytes=self.key_bytes)
        msg.signature.CopyFrom(self.signature.to_proto())
        return msg

    def to_bytes(self) -> bytes:
        return self.to_proto().SerializeToString()

    @classmethod
    def from_proto(cls, msg: public_key_pb2.SignedPublicKey) -> SignedPublicKey:
        if not msg.HasField("signature"):
            raise InvalidSignature("signed public key carries no signature")
        return cls(msg.key_bytes, Signature.from_proto(msg.signature))

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedPublicKey:
        return cls.from_proto(decode_proto(public_key_pb2.SignedPublicKey, data, "SignedPublicKey"))


def _check_secret(secret: bytes) -> None:
    try:
        secp256k1.validate_private_key(secret)
    except InvalidKey as exc:
        raise InvalidKey(f"private key: {exc}") from None


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """V1 private key: millisecond timestamp, 32-byte scalar and its signed public key."""

    timestamp_ms: int
    secret: bytes = field(repr=False)
    public_key: PublicKey

    def __post_init__(self) -> None:
        _check_timestamp(self.timestamp_ms, "private key")
        _check_secret(self.secret)

    @classmethod
    def generate(cls, timestamp_ms: int) -> PrivateKey:
        """A fresh random key whose (unsigned) public key carries the same timestamp."""
        secret = secp256k1.generate_private_key()
        return cls(timestamp_ms, secret, PublicKey(timestamp_ms, secp256k1.public_key_of(secret)))

    def matches_public_key(self) -> bool:
        """True when ``public_key`` really is the public half of ``secret``."""
        return secp256k1.public_key_of(self.secret) == self.public_key.point

    def sign_digest(self, digest: bytes) -> Signature:
        raw, recovery = secp256k1.sign_digest(self.secret, digest)
        return Signature(raw, recovery)

    def sign_key(self, key: PublicKey) -> PublicKey:
        """Sign another V1 public key (SHA-256 of its bytes to sign), as for pre-keys."""
        return key.with_signature(self.sign_digest(sha256(key.bytes_to_sign())))

    def shared_point(self, peer_point: bytes) -> bytes:
        """65-byte ECDH point with a peer public key."""
        return secp256k1.ecdh(self.secret, peer_point)

    def with_public_key(self, public_key: PublicKey) -> PrivateKey:
        return PrivateKey(self.timestamp_ms, self.secret, public_key)

    def to_proto(self) -> private_key_pb2.PrivateKey:
        msg = private_key_pb2.PrivateKey(timestamp=self.timestamp_ms)
        msg.secp256k1.bytes = self.secret
        msg.public_key.CopyFrom(self.public_key.to_proto())
        return msg

    @classmethod
    def from_proto(cls, msg: private_key_pb2.PrivateKey) -> PrivateKey:
        if msg.WhichOneof("union") != "secp256k1":
            raise InvalidKey("private key has no secp256k1 scalar")
        if not msg.HasField("public_key"):
            raise InvalidKey("private key has no public key")
        return cls(msg.timestamp, msg.secp256k1.bytes, PublicKey.from_proto(msg.public_key))


@dataclass(frozen=True, slots=True)
class SignedPrivateKey:
    """V2 private key: nanosecond ``created_ns``, scalar and its ``SignedPublicKey``."""

    created_ns: int
    secret: bytes = field(repr=False)
    public_key: SignedPublicKey

    def __post_init__(self) -> None:
        _check_timestamp(self.created_ns, "private key")
        _check_secret(self.secret)

    @classmethod
    def from_legacy(cls, key: PrivateKey, *, signed_by_wallet: bool) -> SignedPrivateKey:
        """V1 → V2: the wrapper's timestamp becomes ns while the key bytes keep ms."""
        public = SignedPublicKey.from_legacy(key.public_key, signed_by_wallet=signed_by_wallet)
        return cls(key.timestamp_ms * NS_PER_MS, key.secret, public)

    def to_legacy(self) -> PrivateKey:
        return PrivateKey(self.created_ns // NS_PER_MS, self.secret, self.public_key.to_legacy())

    def matches_public_key(self) -> bool:
        return secp256k1.public_key_of(self.secret) == self.public_key.point

    def shared_point(self, peer_point: bytes) -> bytes:
        return secp256k1.ecdh(self.secret, peer_point)

    def sign_digest(self, digest: bytes) -> Signature:
        raw, recovery = secp256k1.sign_digest(self.secret, digest)
        return Signature(raw, recovery)

    def to_proto(self) -> private_key_pb2.SignedPrivateKey:
        msg = private_key_pb2.SignedPrivateKey(created_ns=self.created_ns)
        msg.secp256k1.bytes = self.secret
        msg.public_key.CopyFrom(self.public_key.to_proto())
        return msg

    @classmethod
    def from_proto(cls, msg: private_key_pb2.SignedPrivateKey) -> SignedPrivateKey:
        if msg.WhichOneof("union") != "secp256k1":
            raise InvalidKey("signed private key has no secp256k1 scalar")
        if not msg.HasField("public_key"):
            raise InvalidKey("signed private key has no public key")
        return cls(msg.created_ns, msg.secp256k1.bytes, SignedPublicKey.from_proto(msg.public_key))


def verify_pre_key_signature(identity_point: bytes, pre_key: PublicKey | SignedPublicKey) -> None:
    """Raise ``BadSignature`` unless ``pre_key`` is signed by the identity key."""
    if not pre_key.is_signed_by(identity_point):
        raise BadSignature("pre-key is not signed by the identity key")
