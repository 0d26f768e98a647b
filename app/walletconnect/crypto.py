"""The cryptography of WalletConnect v2 Sign: key agreement, topics, envelopes and relay auth.

Everything here is a pure function of its inputs (randomness is injectable), so each piece can
be pinned by a test vector:

* **X25519 + HKDF-SHA256** derives the session symKey both peers share without ever sending it
  (spec 1.3: no salt, empty info, 32 bytes).
* A **topic** is ``sha256(symKey)`` in hex, so the relay routes by topic without learning the key.
* **Type-0 envelopes** (``0x00 || iv || ChaCha20-Poly1305(plaintext) || tag``, base64) carry every
  pairing and session message; anything else is refused, tampering raises ``EnvelopeError``.

The Ed25519 client key and its relay JWT are in ``relay_auth``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.walletconnect.errors import EnvelopeError, WalletConnectError

KEY_LENGTH: Final = 32
IV_LENGTH: Final = 12
TAG_LENGTH: Final = 16
TYPE_0: Final = 0


# -- key agreement and topics -------------------------------------------------------------


def generate_key_pair() -> X25519PrivateKey:
    """A fresh X25519 key pair (the dApp's proposal key; only needed until the settle)."""
    return X25519PrivateKey.generate()


def public_key_hex(private_key: X25519PrivateKey) -> str:
    """The 32-byte raw public key, lowercase hex, as it travels in proposals."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return raw.hex()


def parse_public_key_hex(text: object) -> X25519PublicKey:
    """Parse a peer's 64-hex X25519 public key; ``WalletConnectError`` when malformed."""
    if not isinstance(text, str) or len(text) != 2 * KEY_LENGTH:
        raise WalletConnectError("peer public key must be 64 hex characters")
    try:
        return X25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        raise WalletConnectError("peer public key is not hex") from None


def derive_sym_key(private_key: X25519PrivateKey, peer_public_hex: str) -> bytes:
    """Session symKey = HKDF-SHA256(X25519(ours, theirs), salt=None, info=b"", L=32)."""
    peer = parse_public_key_hex(peer_public_hex)
    try:
        shared = private_key.exchange(peer)
    except ValueError:  # OpenSSL refuses the all-zero result
        shared = bytes(KEY_LENGTH)
    if shared == bytes(KEY_LENGTH):
        # A low-order peer key gives an all-zero secret that anybody can compute.
        raise WalletConnectError("peer public key is a low-order point")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=None, info=b"").derive(shared)


def new_sym_key() -> bytes:
    """A random 32-byte pairing symKey."""
    return os.urandom(KEY_LENGTH)


def topic_of(sym_key: bytes) -> str:
    """Topic = lowercase hex sha256 of the raw symKey bytes (not of its hex text)."""
    _check_key(sym_key)
    return hashlib.sha256(sym_key).hexdigest()


def message_id(message: str) -> str:
    """Relay message id = sha256 of the serialized envelope, used to drop redeliveries."""
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


# -- envelopes ----------------------------------------------------------------------------


def seal(sym_key: bytes, plaintext: bytes, *, iv: bytes | None = None) -> str:
    """Type-0 envelope of ``plaintext``: base64(0x00 || iv || ciphertext || tag).

    ``iv`` is random unless given (tests pin it); reusing an iv with the same key is fatal for
    ChaCha20-Poly1305, so production code never passes one.
    """
    _check_key(sym_key)
    nonce = os.urandom(IV_LENGTH) if iv is None else iv
    if len(nonce) != IV_LENGTH:
        raise ValueError("iv must be 12 bytes")
    sealed = ChaCha20Poly1305(sym_key).encrypt(nonce, plaintext, None)
    return base64.b64encode(bytes([TYPE_0]) + nonce + sealed).decode("ascii")


def open_envelope(sym_key: bytes, envelope: str) -> bytes:
    """Plaintext of a type-0 envelope; ``EnvelopeError`` for any other type or tampering."""
    _check_key(sym_key)
    try:
        raw = base64.b64decode(envelope.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError("envelope is not standard base64") from None
    if not raw:
        raise EnvelopeError("empty envelope")
    if raw[0] != TYPE_0:
        raise EnvelopeError(f"unsupported envelope type {raw[0]}")
    if len(raw) < 1 + IV_LENGTH + TAG_LENGTH:
        raise EnvelopeError("envelope too short")
    nonce, sealed = raw[1 : 1 + IV_LENGTH], raw[1 + IV_LENGTH :]
    try:
        return ChaCha20Poly1305(sym_key).decrypt(nonce, sealed, None)
    except InvalidTag:
        raise EnvelopeError("envelope does not decrypt: wrong key or tampered") from None


def seal_json(sym_key: bytes, payload: dict[str, object]) -> str:
    """Envelope of a JSON-RPC payload as compact UTF-8 JSON."""
    return seal(sym_key, json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def open_json(sym_key: bytes, envelope: str) -> dict[str, object]:
    """The JSON object inside an envelope; ``EnvelopeError`` if it is not one."""
    plaintext = open_envelope(sym_key, envelope)
    try:
        value = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EnvelopeError("envelope does not hold UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeError("envelope does not hold a JSON object")
    return value


def _check_key(sym_key: bytes) -> None:
    if len(sym_key) != KEY_LENGTH:
        raise ValueError("symKey must be 32 bytes")
