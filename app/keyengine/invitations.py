"""V2 sealed invitations: deterministic conversation topic and key, sealed with the 3-DH secret.

Sealing follows xmtp-js ≥ 10 (``InMemoryKeystore.createInvite``): both parties derive the same
topic and key material whoever invites.  Opening looks our pre-key up **by the public pre-key the
header names**, in the whole pre-key history, so invitations sealed before a rotation still open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.keyengine.bundles import PrivateKeyBundleV1, SignedPublicKeyBundle
from app.keyengine.crypto import aead
from app.keyengine.crypto.hashes import hmac_sha256
from app.keyengine.dh import three_dh
from app.keyengine.encrypted_bundle import ciphertext_from_proto, ciphertext_to_proto
from app.keyengine.errors import (
    DecryptionFailed,
    InvalidInvitation,
    KeyEngineError,
)
from app.keyengine.keys import PrivateKey, decode_proto
from app.keyengine.proto import invitation_pb2
from app.keyengine.topics import conversation_topic

INVITATION_SALT = b"__XMTP__INVITATION__SALT__XMTP__"
_POINT = 65


@dataclass(frozen=True, slots=True)
class Invitation:
    """The decrypted ``InvitationV1``: where the conversation lives and its key material."""

    topic: str
    key_material: bytes = field(repr=False)
    conversation_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        msg = invitation_pb2.InvitationV1(topic=self.topic)
        if self.conversation_id or self.metadata:
            msg.context.conversation_id = self.conversation_id
            for key, value in self.metadata.items():
                msg.context.metadata[key] = value
        msg.aes256_gcm_hkdf_sha256.key_material = self.key_material
        return msg.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> Invitation:
        msg = decode_proto(invitation_pb2.InvitationV1, data, "invitation")
        if msg.WhichOneof("encryption") != "aes256_gcm_hkdf_sha256":
            raise InvalidInvitation("invitation carries no key material")
        key_material = msg.aes256_gcm_hkdf_sha256.key_material
        if len(key_material) != 32:
            raise InvalidInvitation("invitation key material must be 32 bytes")
        if not msg.topic:
            raise InvalidInvitation("invitation has no topic")
        return cls(msg.topic, key_material, msg.context.conversation_id, dict(msg.context.metadata))


@dataclass(frozen=True, slots=True)
class SealedInvitationHeader:
    sender: SignedPublicKeyBundle
    recipient: SignedPublicKeyBundle
    created_ns: int

    def to_bytes(self) -> bytes:
        msg = invitation_pb2.SealedInvitationHeaderV1(created_ns=self.created_ns)
        msg.sender.CopyFrom(self.sender.to_proto())
        msg.recipient.CopyFrom(self.recipient.to_proto())
        return msg.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedInvitationHeader:
        msg = decode_proto(
            invitation_pb2.SealedInvitationHeaderV1, data, "invitation header", InvalidInvitation
        )
        if not msg.HasField("sender") or not msg.HasField("recipient"):
            raise InvalidInvitation("invitation header lacks sender or recipient")
        try:
            return cls(
                SignedPublicKeyBundle.from_proto(msg.sender),
                SignedPublicKeyBundle.from_proto(msg.recipient),
                msg.created_ns,
            )
        except KeyEngineError as exc:
            raise InvalidInvitation(f"invitation header: {exc}") from None


@dataclass(frozen=True, slots=True)
class SealedInvitation:
    """``SealedInvitation{v1}``: header bytes (also the AAD) and the encrypted invitation."""

    header_bytes: bytes
    header: SealedInvitationHeader
    ciphertext: aead.AeadCiphertext

    def to_bytes(self) -> bytes:
        msg = invitation_pb2.SealedInvitation()
        msg.v1.header_bytes = self.header_bytes
        msg.v1.ciphertext.CopyFrom(ciphertext_to_proto(self.ciphertext))
        return msg.SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedInvitation:
        msg = decode_proto(
            invitation_pb2.SealedInvitation, data, "sealed invitation", InvalidInvitation
        )
        if msg.WhichOneof("version") != "v1" or not msg.v1.HasField("ciphertext"):
            raise InvalidInvitation("not a V1 sealed invitation")
        try:
            ciphertext = ciphertext_from_proto(msg.v1.ciphertext)
        except DecryptionFailed as exc:
            raise InvalidInvitation(str(exc)) from None
        header = SealedInvitationHeader.from_bytes(msg.v1.header_bytes)
        return cls(msg.v1.header_bytes, header, ciphertext)


def _swap_first_two(secret: bytes) -> bytes:
    """The sender-form secret from the recipient form (dh1 and dh2 trade places)."""
    return secret[_POINT : 2 * _POINT] + secret[:_POINT] + secret[2 * _POINT :]


def derive_conversation(
    secret: bytes, address_a: str, address_b: str, conversation_id: str = ""
) -> tuple[str, bytes]:
    """Deterministic ``(topic, key_material)`` from the shared secret and both EIP-55 addresses."""
    first, second = sorted((address_a, address_b))
    topic_id = hmac_sha256(secret, f"{conversation_id}{first},{second}".encode()).hex()
    key_material = aead.hkdf_sha256(secret, INVITATION_SALT, f"0|{first}|{second}".encode())
    return conversation_topic(topic_id), key_material


def create_invitation(
    bundle: PrivateKeyBundleV1,
    recipient: SignedPublicKeyBundle,
    created_ns: int,
    *,
    conversation_id: str = "",
    metadata: Mapping[str, str] | None = None,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> tuple[SealedInvitation, Invitation]:
    """Seal a new invitation from our current pre-key to ``recipient``.

    Publish the result to both parties' invite topics with ``timestamp_ns = created_ns``.
    """
    my_address = bundle.wallet_address
    their_address = recipient.wallet_address
    pre_key = bundle.current_pre_key
    is_recipient = my_address < their_address
    secret = three_dh(
        bundle.identity_key,
        pre_key,
        recipient.identity_key,
        recipient.pre_key,
        is_recipient=is_recipient,
    )
    topic, key_material = derive_conversation(secret, my_address, their_address, conversation_id)
    invitation = Invitation(topic, key_material, conversation_id, dict(metadata or {}))
    header = SealedInvitationHeader(bundle.signed_public_key_bundle(), recipient, created_ns)
    header_bytes = header.to_bytes()
    seal_secret = _swap_first_two(secret) if is_recipient else secret
    ciphertext = aead.encrypt(
        invitation.to_bytes(), seal_secret, header_bytes, salt=salt, nonce=nonce
    )
    return SealedInvitation(header_bytes, header, ciphertext), invitation


@dataclass(frozen=True, slots=True)
class OpenedInvitation:
    """An invitation we could open, with who it is from and which of our pre-keys opened it."""

    invitation: Invitation
    peer_address: str
    created_ns: int
    pre_key: PrivateKey = field(repr=False)
    sent_by_us: bool

    @property
    def pre_key_public(self) -> bytes:
        return self.pre_key.public_key.point


def open_invitation(
    bundle: PrivateKeyBundleV1,
    sealed: SealedInvitation | bytes,
    *,
    envelope_timestamp_ns: int | None = None,
) -> OpenedInvitation:
    """Open an invitation we sent or received, using the pre-key (current or old) it names."""
    if isinstance(sealed, bytes):
        sealed = SealedInvitation.from_bytes(sealed)
    header = sealed.header
    if envelope_timestamp_ns is not None and envelope_timestamp_ns != header.created_ns:
        raise InvalidInvitation("envelope and header timestamp mismatch")
    my_identity = bundle.identity_key
    sent_by_us = header.sender.identity_key.point == my_identity.public_key.point
    if sent_by_us:
        peer, my_pre_point, is_recipient = header.recipient, header.sender.pre_key.point, False
    elif header.recipient.identity_key.point == my_identity.public_key.point:
        peer, my_pre_point, is_recipient = header.sender, header.recipient.pre_key.point, True
    else:
        raise InvalidInvitation("this invitation is not addressed to this identity")
    pre_key = bundle.find_pre_key(my_pre_point)
    try:
        secret = three_dh(
            my_identity, pre_key, peer.identity_key, peer.pre_key, is_recipient=is_recipient
        )
        plaintext = aead.decrypt(sealed.ciphertext, secret, sealed.header_bytes)
    except KeyEngineError as exc:
        raise InvalidInvitation(f"cannot open invitation: {exc}") from None
    invitation = Invitation.from_bytes(plaintext)
    try:
        peer_address = peer.wallet_address
    except KeyEngineError as exc:
        raise InvalidInvitation(f"peer identity is not attested: {exc}") from None
    return OpenedInvitation(invitation, peer_address, header.created_ns, pre_key, sent_by_us)
