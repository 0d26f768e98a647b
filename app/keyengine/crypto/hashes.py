"""Hash functions and Ethereum message digests used throughout XMTP."""

from __future__ import annotations

import hashlib
import hmac

import sha3  # safe-pysha3: a C Keccak-256, ~7× less call overhead than pycryptodome's


def sha256(data: bytes) -> bytes:
    """SHA-256: the digest of XMTP key signatures and V2 content signatures."""
    return hashlib.sha256(data).digest()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's pre-standard SHA-3): addresses, EIP-191, auth tokens."""
    digest: bytes = sha3.keccak_256(data).digest()
    return digest


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256: deterministic invitation topics and message sender HMACs."""
    return hmac.new(key, message, hashlib.sha256).digest()


def eip191_digest(message: bytes) -> bytes:
    """Digest a wallet signs for ``personal_sign`` (EIP-191 version 0x45) of ``message``.

    The length prefix is the decimal *byte* length, which equals the character count for the
    pure-ASCII XMTP texts.
    """
    prefix = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode("ascii")
    return keccak256(prefix + message)
