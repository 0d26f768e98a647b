"""One short, comparable form of an XMTP public key, shown the same way everywhere.

A user compares keys by eye: the signing prompt, the Identity, Pre-keys and Lookup screens and
the command line must all show the same value for the same key.  The value is computed from the
key's 65-byte uncompressed secp256k1 point alone, so it does not change with the encoding the key
travels in (V1 or V2 protobuf, with or without signature, with its timestamp).

Why this form:

* SHA-256, not Keccak-256: the last 20 bytes of a point's Keccak hash are its Ethereum address,
  and a key fingerprint must not look like (or be mistaken for) a wallet address.
* The first 20 bytes (160 bits): the same strength as an Ethereum address, far beyond what an
  attacker can grind to produce a look-alike, and short enough to read aloud.
* Upper-case hex in groups of four, separated by spaces: easy to compare group by group, and
  it does not start with ``0x`` (again, so it is not read as an address).
"""

from __future__ import annotations

from typing import Final

from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.hashes import sha256
from app.keyengine.keys import PublicKey

FINGERPRINT_BYTES: Final = 20
GROUP_LENGTH: Final = 4


def key_fingerprint(public_key_bytes: bytes) -> str:
    """The fingerprint of a 65-byte uncompressed secp256k1 point, e.g. ``"1A2B 3C4D … 9F0E"``.

    Raises ``InvalidKey`` for anything that is not a valid uncompressed point, so a fingerprint
    is never shown for bytes that are not a key.
    """
    secp256k1.validate_public_key(public_key_bytes)
    digits = sha256(public_key_bytes)[:FINGERPRINT_BYTES].hex().upper()
    return " ".join(digits[i : i + GROUP_LENGTH] for i in range(0, len(digits), GROUP_LENGTH))


def key_bytes_fingerprint(key_bytes: bytes) -> str:
    """The fingerprint of the key inside the bytes a Create Identity signature covers (the
    unsigned public key's protobuf), so the prompt shows what the Identity screen shows."""
    return key_fingerprint(PublicKey.from_bytes(key_bytes).point)
