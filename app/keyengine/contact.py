"""Published contact bundles and the check of their attestation chain.

Contact topics hold ``ContactBundle{v1}``, ``ContactBundle{v2}`` and, from before xmtp-js 7, bare
``PublicKeyBundle`` payloads.  Decoding follows the robust rule of the spec: decode as
``ContactBundle``; if neither version holds a key bundle, decode as a bare ``PublicKeyBundle``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from app.keyengine.bundles import PrivateKeyBundleV1, PublicKeyBundle, SignedPublicKeyBundle
from app.keyengine.errors import InvalidBundle, KeyEngineError
from app.keyengine.keys import decode_proto
from app.keyengine.proto import contact_pb2, public_key_pb2
from app.keyengine.verdicts import ChainCheck, check_attestation, check_pre_key


class ContactVersion(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    LEGACY = "legacy"
    """A bare ``PublicKeyBundle`` not wrapped in a ``ContactBundle``."""


@dataclass(frozen=True, slots=True)
class ContactBundle:
    """A contact as published: its version and the public bundle it carries."""

    version: ContactVersion
    key_bundle: PublicKeyBundle | SignedPublicKeyBundle

    @classmethod
    def v1(cls, bundle: PublicKeyBundle) -> ContactBundle:
        return cls(ContactVersion.V1, bundle)

    @classmethod
    def v2(cls, bundle: SignedPublicKeyBundle) -> ContactBundle:
        return cls(ContactVersion.V2, bundle)

    @property
    def identity_point(self) -> bytes:
        return self.key_bundle.identity_key.point

    @property
    def pre_key_point(self) -> bytes | None:
        pre_key = self.key_bundle.pre_key
        return None if pre_key is None else pre_key.point

    @property
    def wallet_address(self) -> str:
        return self.key_bundle.wallet_address

    def signed_public_key_bundle(self) -> SignedPublicKeyBundle:
        """V2 form for sealing invitations (a V1 contact is converted as xmtp-js does)."""
        if isinstance(self.key_bundle, SignedPublicKeyBundle):
            return self.key_bundle
        return SignedPublicKeyBundle.from_legacy(self.key_bundle)

    def to_bytes(self) -> bytes:
        if self.version is ContactVersion.LEGACY:
            return self.key_bundle.to_bytes()
        msg = contact_pb2.ContactBundle()
        if isinstance(self.key_bundle, SignedPublicKeyBundle):
            msg.v2.key_bundle.CopyFrom(self.key_bundle.to_proto())
        else:
            msg.v1.key_bundle.CopyFrom(self.key_bundle.to_proto())
        return msg.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContactBundle:
        try:
            msg = contact_pb2.ContactBundle.FromString(data)
            if msg.WhichOneof("version") == "v1" and msg.v1.HasField("key_bundle"):
                return cls.v1(PublicKeyBundle.from_proto(msg.v1.key_bundle))
            if msg.WhichOneof("version") == "v2" and msg.v2.HasField("key_bundle"):
                return cls.v2(SignedPublicKeyBundle.from_proto(msg.v2.key_bundle))
        except KeyEngineError:
            raise
        except Exception:  # noqa: S110 - decoder failure: try the bare legacy form
            pass
        bare = decode_proto(public_key_pb2.PublicKeyBundle, data, "contact bundle")
        if not bare.identity_key.HasField("secp256k1_uncompressed"):
            raise InvalidBundle("unknown or invalid contact bundle")
        return cls(ContactVersion.LEGACY, PublicKeyBundle.from_proto(bare))


def contacts_of(bundle: PrivateKeyBundleV1) -> tuple[ContactBundle, ContactBundle]:
    """The contacts published for ``bundle``, in xmtp-js's order: V1 first, then V2."""
    return (
        ContactBundle.v1(bundle.public_key_bundle()),
        ContactBundle.v2(bundle.signed_public_key_bundle()),
    )


@dataclass(frozen=True, slots=True)
class ContactVerification:
    """Result of checking wallet → identity key → pre-key for a contact."""

    wallet_address: str | None
    identity_key: bytes
    pre_key: bytes | None
    checks: tuple[ChainCheck, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def errors(self) -> list[str]:
        return [check.detail for check in self.checks if not check.ok]


def verify_contact(
    contact: ContactBundle, expected_wallet: str | None = None
) -> ContactVerification:
    """Check the full attestation chain of ``contact`` without raising.

    1. the identity key's Create Identity signature recovers to a wallet (and to
       ``expected_wallet`` when given, compared case-insensitively as xmtp-js does);
    2. the pre-key exists and is signed by the identity key.
    """
    bundle = contact.key_bundle
    attestation = check_attestation(bundle.identity_key, expected_wallet)
    checks = (attestation.check, check_pre_key(bundle.identity_key.point, bundle.pre_key))
    return ContactVerification(
        attestation.recovered, contact.identity_point, contact.pre_key_point, checks
    )
