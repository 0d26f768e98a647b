"""XMTP's one symmetric scheme: HKDF-SHA256 key derivation + AES-256-GCM.

``key = HKDF-SHA256(ikm=secret, salt=32 random bytes, info=b"", L=32)``; the payload is the GCM
ciphertext with its 16-byte tag appended.  Used for stored key bundles (secret = a wallet
signature), invitations (secret = a 3-DH secret) and messages (secret = invitation key material).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.keyengine.errors import DecryptionFailed

SALT_LENGTH: Final = 32
NONCE_LENGTH: Final = 12
TAG_LENGTH: Final = 16
KEY_LENGTH: Final = 32


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes = b"", length: int = KEY_LENGTH) -> bytes:
    """RFC 5869 HKDF with SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True, slots=True)
class AeadCiphertext:
    """The three fields of ``Ciphertext.aes256_gcm_hkdf_sha256``."""

    hkdf_salt: bytes
    gcm_nonce: bytes
    payload: bytes

    def check_lengths(self) -> None:
        """Raise ``DecryptionFailed`` for field lengths xmtp-js would refuse."""
        if len(self.hkdf_salt) != SALT_LENGTH:
            raise DecryptionFailed(f"HKDF salt must be 32 bytes, got {len(self.hkdf_salt)}")
        if len(self.gcm_nonce) != NONCE_LENGTH:
            raise DecryptionFailed(f"GCM nonce must be 12 bytes, got {len(self.gcm_nonce)}")
        if len(self.payload) < TAG_LENGTH:
            raise DecryptionFailed("ciphertext payload is shorter than the GCM tag")


def encrypt(
    plaintext: bytes,
    secret: bytes,
    aad: bytes | None = None,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> AeadCiphertext:
    """Encrypt ``plaintext`` under ``secret``; ``salt``/``nonce`` are injectable for tests only."""
    salt = secrets.token_bytes(SALT_LENGTH) if salt is None else salt
    nonce = secrets.token_bytes(NONCE_LENGTH) if nonce is None else nonce
    if len(salt) != SALT_LENGTH or len(nonce) != NONCE_LENGTH:
        raise ValueError("salt must be 32 bytes and nonce 12 bytes")
    key = hkdf_sha256(secret, salt)
    payload = AESGCM(key).encrypt(nonce, plaintext, aad or None)
    return AeadCiphertext(salt, nonce, payload)


def decrypt(ciphertext: AeadCiphertext, secret: bytes, aad: bytes | None = None) -> bytes:
    """Decrypt and authenticate; raises ``DecryptionFailed`` on any mismatch."""
    ciphertext.check_lengths()
    key = hkdf_sha256(secret, ciphertext.hkdf_salt)
    try:
        return AESGCM(key).decrypt(ciphertext.gcm_nonce, ciphertext.payload, aad or None)
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext does not authenticate under this secret") from exc
