"""Key bundles: the private bundle we keep and the public bundles we publish.

``PrivateKeyBundleV1`` is the source of truth, as in the reference client: an identity key and
its pre-keys, **newest first**.  The first pre-key is the current one; every later one is
history that must be kept forever so old invitations and messages stay readable.  No method here
removes a pre-key.  V2 views are derived losslessly with ``PrivateKeyBundleV2.from_legacy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.errors import BadSignature, InvalidBundle, InvalidKey, NoMatchingPreKey
from app.keyengine.keys import (
    PrivateKey,
    PublicKey,
    SignedPrivateKey,
    SignedPublicKey,
    decode_proto,
    verify_pre_key_signature,
)
from app.keyengine.proto import private_key_pb2, public_key_pb2


@dataclass(frozen=True, slots=True)
class PublicKeyBundle:
    """V1 public bundle: identity key (wallet-signed) and current pre-key (identity-signed).

    ``pre_key`` is ``None`` only for very old contact payloads that carried no pre-key.
    """

    identity_key: PublicKey
    pre_key: PublicKey | None

    @property
    def wallet_address(self) -> str:
        return recover_wallet_address(self.identity_key)

    def verify_pre_key(self) -> None:
        """Raise ``BadSignature`` unless the pre-key exists and is signed by the identity key."""
        if self.pre_key is None:
            raise BadSignature("bundle has no pre-key")
        verify_pre_key_signature(self.identity_key.point, self.pre_key)

    def to_proto(self) -> public_key_pb2.PublicKeyBundle:
        msg = public_key_pb2.PublicKeyBundle()
        msg.identity_key.CopyFrom(self.identity_key.to_proto())
        if self.pre_key is not None:
            msg.pre_key.CopyFrom(self.pre_key.to_proto())
        return msg

    def to_bytes(self) -> bytes:
        return self.to_proto().SerializeToString()

    @classmethod
    def from_proto(cls, msg: public_key_pb2.PublicKeyBundle) -> PublicKeyBundle:
        if not msg.HasField("identity_key"):
            raise InvalidBundle("public key bundle has no identity key")
        pre_key = PublicKey.from_proto(msg.pre_key) if msg.HasField("pre_key") else None
        return cls(PublicKey.from_proto(msg.identity_key), pre_key)

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKeyBundle:
        return cls.from_proto(decode_proto(public_key_pb2.PublicKeyBundle, data, "PublicKeyBundle"))


@dataclass(frozen=True, slots=True)
class SignedPublicKeyBundle:
    """V2 public bundle, as sealed into invitations and published in V2 contacts."""

    identity_key: SignedPublicKey
    pre_key: SignedPublicKey

    @property
    def wallet_address(self) -> str:
        return recover_wallet_address(self.identity_key)

    def verify_pre_key(self) -> None:
        verify_pre_key_signature(self.identity_key.point, self.pre_key)

    @classmethod
    def from_legacy(cls, bundle: PublicKeyBundle) -> SignedPublicKeyBundle:
        """V1 → V2 exactly as xmtp-js: identity signature moves to the wallet case."""
        if bundle.pre_key is None:
            raise InvalidBundle("cannot convert a bundle without a pre-key")
        return cls(
            SignedPublicKey.from_legacy(bundle.identity_key, signed_by_wallet=True),
            SignedPublicKey.from_legacy(bundle.pre_key, signed_by_wallet=False),
        )

    def to_legacy(self) -> PublicKeyBundle:
        return PublicKeyBundle(self.identity_key.to_legacy(), self.pre_key.to_legacy())

    def to_proto(self) -> public_key_pb2.SignedPublicKeyBundle:
        msg = public_key_pb2.SignedPublicKeyBundle()
        msg.identity_key.CopyFrom(self.identity_key.to_proto())
        msg.pre_key.CopyFrom(self.pre_key.to_proto())
        return msg

    def to_bytes(self) -> bytes:
        return self.to_proto().SerializeToString()

    @classmethod
    def from_proto(cls, msg: public_key_pb2.SignedPublicKeyBundle) -> SignedPublicKeyBundle:
        if not msg.HasField("identity_key") or not msg.HasField("pre_key"):
            raise InvalidBundle("signed public key bundle lacks its identity key or pre-key")
        return cls(
            SignedPublicKey.from_proto(msg.identity_key), SignedPublicKey.from_proto(msg.pre_key)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedPublicKeyBundle:
        msg = decode_proto(public_key_pb2.SignedPublicKeyBundle, data, "SignedPublicKeyBundle")
        return cls.from_proto(msg)


def _require_pre_keys(pre_keys: Sequence[object]) -> None:
    if not pre_keys:
        raise InvalidBundle("a private key bundle needs at least one pre-key")


@dataclass(frozen=True, slots=True)
class PrivateKeyBundleV1:
    """Identity key plus every private pre-key ever used, newest (current) first."""

    identity_key: PrivateKey
    pre_keys: tuple[PrivateKey, ...]
    _wallet: list[str] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_pre_keys(self.pre_keys)
        object.__setattr__(self, "pre_keys", tuple(self.pre_keys))

    @property
    def current_pre_key(self) -> PrivateKey:
        return self.pre_keys[0]

    @property
    def wallet_address(self) -> str:
        """Wallet recovered from the identity key's Create Identity signature (memoised)."""
        if not self._wallet:
            self._wallet.append(recover_wallet_address(self.identity_key.public_key))
        return self._wallet[0]

    def public_key_bundle(self) -> PublicKeyBundle:
        """What is published as a V1 contact: identity key and the *current* pre-key only."""
        return PublicKeyBundle(self.identity_key.public_key, self.current_pre_key.public_key)

    def signed_public_key_bundle(self) -> SignedPublicKeyBundle:
        return SignedPublicKeyBundle.from_legacy(self.public_key_bundle())

    def find_pre_key(self, point: bytes) -> PrivateKey:
        """The private pre-key (current or historical) whose public key is ``point``."""
        for pre_key in self.pre_keys:
            if pre_key.public_key.point == point:
                return pre_key
        raise NoMatchingPreKey("no private pre-key in this bundle matches")

    def with_new_pre_key(self, pre_key: PrivateKey) -> PrivateKeyBundleV1:
        """A bundle whose current pre-key is ``pre_key``; every earlier one is kept as history."""
        return PrivateKeyBundleV1(self.identity_key, (pre_key, *self.pre_keys))

    def verify(self) -> None:
        """Check the bundle is internally consistent and fully signed.

        Every private key must match its public key, the identity key must carry a recoverable
        wallet signature, and every pre-key must be signed by the identity key.
        """
        for key in (self.identity_key, *self.pre_keys):
            if not key.matches_public_key():
                raise InvalidKey("a private key does not match its public key")
        _ = self.wallet_address
        for pre_key in self.pre_keys:
            verify_pre_key_signature(self.identity_key.public_key.point, pre_key.public_key)

    def to_proto(self) -> private_key_pb2.PrivateKeyBundleV1:
        msg = private_key_pb2.PrivateKeyBundleV1()
        msg.identity_key.CopyFrom(self.identity_key.to_proto())
        msg.pre_keys.extend(key.to_proto() for key in self.pre_keys)
        return msg

    def to_bytes(self) -> bytes:
        """Wrapped ``PrivateKeyBundle{v1}``: what xmtp-js stores and ``Client.getKeys`` returns."""
        wrapper = private_key_pb2.PrivateKeyBundle()
        wrapper.v1.CopyFrom(self.to_proto())
        return wrapper.SerializeToString()

    def to_unwrapped_bytes(self) -> bytes:
        """Bare ``PrivateKeyBundleV1`` (the Android export form)."""
        return self.to_proto().SerializeToString()

    @classmethod
    def from_proto(cls, msg: private_key_pb2.PrivateKeyBundleV1) -> PrivateKeyBundleV1:
        if not msg.HasField("identity_key"):
            raise InvalidBundle("private key bundle has no identity key")
        return cls(
            PrivateKey.from_proto(msg.identity_key),
            tuple(PrivateKey.from_proto(k) for k in msg.pre_keys),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateKeyBundleV1:
        """Accept the wrapped form (v1, or a legacy-convertible v2) and the bare V1 form."""
        bundle = decode_private_key_bundle(data)
        return bundle if isinstance(bundle, PrivateKeyBundleV1) else bundle.to_legacy()


@dataclass(frozen=True, slots=True)
class PrivateKeyBundleV2:
    """V2 view of a private bundle (identity signature in the wallet case)."""

    identity_key: SignedPrivateKey
    pre_keys: tuple[SignedPrivateKey, ...]

    def __post_init__(self) -> None:
        _require_pre_keys(self.pre_keys)
        object.__setattr__(self, "pre_keys", tuple(self.pre_keys))

    @property
    def current_pre_key(self) -> SignedPrivateKey:
        return self.pre_keys[0]

    @property
    def wallet_address(self) -> str:
        return recover_wallet_address(self.identity_key.public_key)

    @classmethod
    def from_legacy(cls, bundle: PrivateKeyBundleV1) -> PrivateKeyBundleV2:
        return cls(
            SignedPrivateKey.from_legacy(bundle.identity_key, signed_by_wallet=True),
            tuple(SignedPrivateKey.from_legacy(k, signed_by_wallet=False) for k in bundle.pre_keys),
        )

    def to_legacy(self) -> PrivateKeyBundleV1:
        return PrivateKeyBundleV1(
            self.identity_key.to_legacy(), tuple(k.to_legacy() for k in self.pre_keys)
        )

    def signed_public_key_bundle(self) -> SignedPublicKeyBundle:
        return SignedPublicKeyBundle(self.identity_key.public_key, self.current_pre_key.public_key)

    def find_pre_key(self, point: bytes) -> SignedPrivateKey:
        for pre_key in self.pre_keys:
            if pre_key.public_key.point == point:
                return pre_key
        raise NoMatchingPreKey("no private pre-key in this bundle matches")

    def to_proto(self) -> private_key_pb2.PrivateKeyBundleV2:
        msg = private_key_pb2.PrivateKeyBundleV2()
        msg.identity_key.CopyFrom(self.identity_key.to_proto())
        msg.pre_keys.extend(key.to_proto() for key in self.pre_keys)
        return msg

    def to_bytes(self) -> bytes:
        wrapper = private_key_pb2.PrivateKeyBundle()
        wrapper.v2.CopyFrom(self.to_proto())
        return wrapper.SerializeToString()

    @classmethod
    def from_proto(cls, msg: private_key_pb2.PrivateKeyBundleV2) -> PrivateKeyBundleV2:
        if not msg.HasField("identity_key"):
            raise InvalidBundle("private key bundle has no identity key")
        return cls(
            SignedPrivateKey.from_proto(msg.identity_key),
            tuple(SignedPrivateKey.from_proto(k) for k in msg.pre_keys),
        )


def decode_private_key_bundle(data: bytes) -> PrivateKeyBundleV1 | PrivateKeyBundleV2:
    """Decode a wrapped ``PrivateKeyBundle`` (v1 or v2) or, failing that, a bare V1 bundle.

    Protobuf decoders rarely fail on bytes of the wrong message type, so the fallback is decided
    by what decoded: a wrapped bundle must carry a version whose identity key holds a scalar.
    """
    try:
        wrapper = private_key_pb2.PrivateKeyBundle.FromString(data)
    except Exception:
        wrapper = None
    if wrapper is not None:
        version = wrapper.WhichOneof("version")
        # A recognisable wrapped bundle reports its own defects instead of falling back.
        if version == "v1" and wrapper.v1.identity_key.HasField("secp256k1"):
            return PrivateKeyBundleV1.from_proto(wrapper.v1)
        if version == "v2" and wrapper.v2.identity_key.HasField("secp256k1"):
            return PrivateKeyBundleV2.from_proto(wrapper.v2)
    bare = decode_proto(private_key_pb2.PrivateKeyBundleV1, data, "PrivateKeyBundle")
    if not bare.identity_key.HasField("secp256k1"):
        raise InvalidBundle("bytes are not a private key bundle")
    return PrivateKeyBundleV1.from_proto(bare)
