"""Who we are at the relay: an Ed25519 client key, its ``did:key``, and the relay auth JWT.

The relay identifies a client by the ``did:key`` in the ``iss`` of a self-signed EdDSA JWT
(spec 1.5).  Our seed is persisted with the sessions, so the relay mailbox follows this app
across restarts.  ``verify_relay_jwt`` is the relay's side of the same check (a loopback relay
uses it; the production relay does the same).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.walletconnect.constants import JWT_TTL
from app.walletconnect.crypto import KEY_LENGTH
from app.walletconnect.errors import WalletConnectError

DID_KEY_PREFIX: Final = "did:key:z"
_ED25519_MULTICODEC: Final = b"\xed\x01"
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_JWT_HEADER: Final = {"alg": "EdDSA", "typ": "JWT"}


class InvalidRelayToken(WalletConnectError):
    """A relay auth JWT is malformed, not signed by its ``iss``, or expired."""


def base58btc(data: bytes) -> str:
    """Bitcoin base58 (the ``z`` multibase), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def base58btc_decode(text: str) -> bytes:
    """Inverse of ``base58btc``; ``ValueError`` on a character outside the alphabet."""
    number = 0
    for char in text:
        digit = _B58_ALPHABET.find(char)
        if digit < 0:
            raise ValueError("not base58btc")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


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
    header = _b64url_json(dict(_JWT_HEADER))
    payload = _b64url_json(
        {"iss": client.did, "sub": sub, "aud": aud, "iat": issued, "exp": issued + ttl}
    )
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64url(client.sign(signing_input.encode('ascii')))}"


def new_jwt_subject() -> str:
    """A random 64-hex JWT ``sub`` (one per app start, as the SDK does)."""
    return os.urandom(KEY_LENGTH).hex()


def did_key_public_key(did: str) -> bytes:
    """The Ed25519 public key of a ``did:key:z…``; ``ValueError`` for anything else."""
    if not did.startswith(DID_KEY_PREFIX):
        raise ValueError("not a did:key")
    decoded = base58btc_decode(did[len(DID_KEY_PREFIX) :])
    if len(decoded) != 2 + KEY_LENGTH or not decoded.startswith(_ED25519_MULTICODEC):
        raise ValueError("not an Ed25519 did:key")
    return decoded[2:]


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_relay_jwt(token: str, *, now: float | None = None) -> dict[str, Any]:
    """The payload of a valid relay auth JWT; ``InvalidRelayToken`` otherwise.

    Valid means: EdDSA header, ``iss`` an Ed25519 ``did:key`` whose key signed the token, and
    ``exp`` not passed.
    """
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        payload = json.loads(_b64url_decode(payload_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error, RecursionError):
        raise InvalidRelayToken("malformed JWT") from None
    if not isinstance(header, dict) or header.get("alg") != _JWT_HEADER["alg"]:
        raise InvalidRelayToken("unexpected JWT header")
    if not isinstance(payload, dict) or not isinstance(payload.get("iss"), str):
        raise InvalidRelayToken("JWT without iss")
    try:
        public_key = did_key_public_key(payload["iss"])
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, f"{header_b64}.{payload_b64}".encode("ascii")
        )
    except ValueError as exc:
        raise InvalidRelayToken(f"iss is not usable: {exc}") from None
    except InvalidSignature:
        raise InvalidRelayToken("bad JWT signature") from None
    exp = payload.get("exp")
    if not isinstance(exp, int) or exp < (time.time() if now is None else now):
        raise InvalidRelayToken("JWT expired or without exp")
    return payload
