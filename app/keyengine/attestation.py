"""Wallet attestation of identity keys ("XMTP : Create Identity").

The wallet signs the Create Identity text naming the identity key's bytes; anyone recovers the
wallet address from that signature.  Both signature cases are accepted when verifying (mobile
SDKs and old clients publish either); V1 structures are written with ``ecdsa_compact`` and V2
with ``wallet_ecdsa_compact`` as xmtp-js does.
"""

from __future__ import annotations

from app.keyengine.crypto.ethereum import address_of_public_key
from app.keyengine.crypto.hashes import eip191_digest
from app.keyengine.errors import BadSignature
from app.keyengine.keys import PrivateKey, PublicKey, Signature, SignedPublicKey
from app.keyengine.texts import SignatureRequest, create_identity_text


def identity_key_bytes(key: PublicKey | SignedPublicKey) -> bytes:
    """The bytes named in the Create Identity text for this identity key."""
    return key.bytes_to_sign() if isinstance(key, PublicKey) else key.key_bytes


def recover_wallet_address(key: PublicKey | SignedPublicKey) -> str:
    """EIP-55 address of the wallet that attested ``key``.

    Raises ``BadSignature`` if the key carries no signature; ``InvalidSignature`` if it does not
    recover.  A wrong-but-well-formed signature recovers to *some* address: compare it.
    """
    if key.signature is None:
        raise BadSignature("identity key carries no wallet signature")
    text = create_identity_text(identity_key_bytes(key))
    return address_of_public_key(key.signature.recover(eip191_digest(text.encode("ascii"))))


def create_identity_request(identity: PrivateKey) -> SignatureRequest:
    """The Create Identity request for a freshly generated identity key."""
    return SignatureRequest.create_identity(identity.public_key.bytes_to_sign())


def apply_attestation(identity: PrivateKey, wallet_signature: bytes) -> PrivateKey:
    """Attach a 65-byte Create Identity signature to the identity key (V1 ``ecdsa_compact``)."""
    signed = identity.public_key.with_signature(
        Signature.from_wallet_bytes(wallet_signature, by_wallet=False)
    )
    return identity.with_public_key(signed)
