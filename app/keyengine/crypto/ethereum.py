"""Ethereum addresses: derivation from a public key and EIP-55 checksums."""

from __future__ import annotations

import re

from app.keyengine.crypto.hashes import keccak256
from app.keyengine.errors import InvalidKey

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def to_checksum_address(address: str) -> str:
    """Return the EIP-55 mixed-case form of a 20-byte hex address.

    Raises ``ValueError`` for anything that is not ``0x`` followed by 40 hex digits.
    """
    if not _ADDRESS_RE.match(address):
        raise ValueError(f"not an Ethereum address: {address!r}")
    lower = address[2:].lower()
    # Nibble i of the hash is >= 8 exactly when its top bit, bit 255 - 4i, is set.
    digest = int.from_bytes(keccak256(lower.encode("ascii")), "big")
    return "0x" + "".join(
        c.upper() if (digest >> (255 - 4 * i)) & 1 else c for i, c in enumerate(lower)
    )


def is_checksum_address(address: str) -> bool:
    """True when ``address`` is exactly its own EIP-55 form."""
    try:
        return to_checksum_address(address) == address
    except ValueError:
        return False


def address_bytes_of_public_key(public_key: bytes) -> bytes:
    """The 20 address bytes of a 65-byte uncompressed secp256k1 public key."""
    if len(public_key) != 65 or public_key[0] != 4:
        raise InvalidKey("expected a 65-byte uncompressed public key")
    return keccak256(public_key[1:])[-20:]


def address_of_public_key(public_key: bytes) -> str:
    """EIP-55 address of a 65-byte uncompressed secp256k1 public key."""
    return to_checksum_address("0x" + address_bytes_of_public_key(public_key).hex())
