"""The cryptography of WalletConnect v2 Sign: key agreement, topics, envelopes and relay auth.

Everything here is a pure function of its inputs (randomness is injectable), so each piece can
be pinned by a test vector:

* **X25519 + HKDF-SHA256** derives the session symKey both peers share without ever sending it
  (spec 1.3: no salt, empty info, 32 bytes).
* A **topic** is ``sha256(symKey)`` in hex, so the relay routes by topic without learning the key.
* **Type-0 envelopes** (``0x00 || iv || ChaCha20-Poly1305(plaintext) || tag``, base64) carry every
  pairing and session message; anything else is refused, tampering raises ``EnvelopeError``.
* The **Ed25519 client key** identifies us to the relay (``did:key``) through a self-signed JWT;
  its seed is persisted so the relay mailbox follows this app across restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.keyengine.wallets.walletconnect.errors import EnvelopeError, WalletConnectError

KEY_LENGTH: Final = 32
IV_LENGTH: Final = 12
TAG_LENGTH: Final = 16
TYPE_0: Final = 0
JWT_TTL: Final = 86400
"""Seconds a relay auth token is valid (what the JS SDK uses)."""

_ED25519_MULTICODEC: Final = b"\xed\x01"
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


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


# -- client identity and relay auth -------------------------------------------------------


def base58btc(data: bytes) -> str:
    """Bitcoin base58 (the ``z`` multibase), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def did_key(public_key: bytes) -> str:
    """``did:key:z…`` of an Ed25519 public key (multicodec 0xed01, base58btc)."""
    if len(public_key) != KEY_LENGTH:
        raise ValueError("Ed25519 public key must be 32 bytes")
    return "did:key:z" + base58btc(_ED25519_MULTICODEC + public_key)


@dataclass(frozen=True, slots=True)
class ClientKey:
    """The Ed25519 key that is our client id at the relay (seed persisted with the sessions)."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != KEY_LENGTH:
            raise ValueError("Ed25519 seed must be 32 bytes")

    def __repr__(self) -> str:
        return f"ClientKey(did={self.did!r})"

    @classmethod
    def generate(cls) -> ClientKey:
        return cls(os.urandom(KEY_LENGTH))

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        return self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def did(self) -> str:
        return did_key(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: dict[str, object]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def relay_jwt(
    client: ClientKey, *, sub: str, aud: str, iat: int | None = None, ttl: int = JWT_TTL
) -> str:
    """The relay auth token: an EdDSA JWT self-issued by the client key.

    The payload is what the JS SDK sends (``iss, sub, aud, iat, exp`` in that order, compact
    JSON, no ``act``); the spec's test vector pins it byte for byte.  ``sub`` is a random value
    per app start, ``aud`` the relay URL as configured.
    """
    issued = int(time.time()) if iat is None else iat
    header = _b64url_json({"alg": "EdDSA", "typ": "JWT"})
    payload = _b64url_json(
        {"iss": client.did, "sub": sub, "aud": aud, "iat": issued, "exp": issued + ttl}
    )
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64url(client.sign(signing_input.encode('ascii')))}"


def new_jwt_subject() -> str:
    """A random 64-hex JWT ``sub`` (one per app start, as the SDK does)."""
    return os.urandom(KEY_LENGTH).hex()
