"""secp256k1 through libsecp256k1 (coincurve), in the exact forms XMTP uses.

* Private keys are 32-byte big-endian scalars; public keys are 65-byte uncompressed points.
* Every signature is over a caller-supplied 32-byte digest: nothing here hashes for you.
  (coincurve's own ``sign`` would SHA-256 the input again; we always pass ``hasher=None``.)
* Signatures are RFC 6979, low-S, returned as 64-byte ``r || s`` plus a recovery id in {0, 1}.
* Verification is strict: high-S signatures are rejected, as noble, k256 and go-ethereum do.
* ECDH returns the whole 65-byte shared point, not a hash of it.
"""

from __future__ import annotations

import secrets
from typing import Final

from coincurve import PrivateKey as _CPrivateKey
from coincurve import PublicKey as _CPublicKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from app.keyengine.errors import InvalidKey, InvalidSignature

CURVE_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER: Final = CURVE_ORDER // 2
PRIVATE_KEY_LENGTH: Final = 32
PUBLIC_KEY_LENGTH: Final = 65
SIGNATURE_LENGTH: Final = 64
DIGEST_LENGTH: Final = 32

_CTX = GLOBAL_CONTEXT.ctx


def _check_digest(digest: bytes) -> None:
    if len(digest) != DIGEST_LENGTH:
        raise ValueError("a signature digest must be exactly 32 bytes")


def validate_private_key(private_key: bytes) -> None:
    """Raise ``InvalidKey`` unless ``private_key`` is a valid scalar (1 ≤ d < n, 32 bytes)."""
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise InvalidKey(f"private key must be 32 bytes, got {len(private_key)}")
    if not 0 < int.from_bytes(private_key, "big") < CURVE_ORDER:
        raise InvalidKey("private key scalar out of range")


def validate_public_key(public_key: bytes) -> None:
    """Raise ``InvalidKey`` unless ``public_key`` is a 65-byte uncompressed point on the curve."""
    if len(public_key) != PUBLIC_KEY_LENGTH:
        raise InvalidKey(f"public key must be 65 bytes, got {len(public_key)}")
    if public_key[0] != 0x04:
        raise InvalidKey(f"public key must start with 0x04, got 0x{public_key[0]:02x}")
    try:
        _CPublicKey(public_key)
    except ValueError as exc:
        raise InvalidKey("public key is not a point on secp256k1") from exc


def generate_private_key() -> bytes:
    """A fresh uniformly random valid scalar from the OS CSPRNG."""
    while True:
        candidate = secrets.token_bytes(PRIVATE_KEY_LENGTH)
        if 0 < int.from_bytes(candidate, "big") < CURVE_ORDER:
            return candidate


def public_key_of(private_key: bytes) -> bytes:
    """65-byte uncompressed public key of ``private_key``."""
    validate_private_key(private_key)
    return _CPrivateKey(private_key).public_key.format(compressed=False)


def sign_digest(private_key: bytes, digest: bytes) -> tuple[bytes, int]:
    """RFC 6979 low-S ECDSA over a 32-byte digest; returns ``(r || s, recovery id)``."""
    _check_digest(digest)
    validate_private_key(private_key)
    # Called through the C API directly: coincurve's PrivateKey object would first derive the
    # public key, which doubles the cost of every signature.
    raw = ffi.new("secp256k1_ecdsa_recoverable_signature *")
    if not lib.secp256k1_ecdsa_sign_recoverable(_CTX, raw, digest, private_key, ffi.NULL, ffi.NULL):
        raise InvalidKey("libsecp256k1 refused to sign with this key")
    out = ffi.new("unsigned char[64]")
    recid = ffi.new("int *")
    lib.secp256k1_ecdsa_recoverable_signature_serialize_compact(_CTX, out, recid, raw)
    # libsecp256k1 always emits low-S, so the recovery id needs no flipping.
    return bytes(ffi.buffer(out, 64)), int(recid[0])


def is_low_s(signature: bytes) -> bool:
    """True when the ``s`` half of a 64-byte compact signature is in the lower half-order."""
    return 0 < int.from_bytes(signature[32:64], "big") <= _HALF_ORDER


def normalize_s(signature: bytes, recovery: int) -> tuple[bytes, int]:
    """Bring a compact signature to low-S form, flipping the recovery id when ``s`` changes."""
    s = int.from_bytes(signature[32:64], "big")
    if s <= _HALF_ORDER:
        return signature, recovery
    return signature[:32] + (CURVE_ORDER - s).to_bytes(32, "big"), recovery ^ 1


def verify_digest(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Strict ECDSA verification of ``r || s`` over ``digest``; high-S is rejected."""
    _check_digest(digest)
    if len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        pub = _CPublicKey(public_key)
    except ValueError:
        return False
    raw = ffi.new("secp256k1_ecdsa_signature *")
    if not lib.secp256k1_ecdsa_signature_parse_compact(_CTX, raw, signature):
        return False
    # secp256k1_ecdsa_verify refuses non-normalised (high-S) signatures by design.
    return bool(lib.secp256k1_ecdsa_verify(_CTX, raw, digest, pub.public_key))


def recover_public_key(digest: bytes, signature: bytes, recovery: int) -> bytes:
    """Recover the 65-byte public key that produced ``signature`` over ``digest``.

    Raises ``InvalidSignature`` for a malformed signature, a recovery id outside {0, 1}
    (XMTP accepts no others) or a signature that recovers to no key.
    """
    _check_digest(digest)
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature(f"signature must be 64 bytes, got {len(signature)}")
    if recovery not in (0, 1):
        raise InvalidSignature(f"recovery id must be 0 or 1, got {recovery}")
    try:
        pub = _CPublicKey.from_signature_and_message(
            signature + bytes([recovery]), digest, hasher=None
        )
    except ValueError as exc:
        raise InvalidSignature("signature does not recover to a public key") from exc
    return pub.format(compressed=False)


def ecdh(private_key: bytes, public_key: bytes) -> bytes:
    """The full 65-byte uncompressed shared point ``private_key * public_key``.

    XMTP feeds the whole point (``04 || X || Y``) into its KDFs, unlike libsecp256k1's own ECDH
    which hashes the X coordinate; so this uses a constant-time scalar multiplication instead.
    """
    validate_private_key(private_key)
    if len(public_key) != PUBLIC_KEY_LENGTH or public_key[0] != 0x04:
        raise InvalidKey("peer public key must be a 65-byte uncompressed point")
    try:
        pub = _CPublicKey(public_key)
    except ValueError as exc:
        raise InvalidKey("peer public key is not a point on secp256k1") from exc
    return pub.multiply(private_key).format(compressed=False)
