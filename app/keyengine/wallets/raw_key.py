"""A signer holding a raw secp256k1 wallet key in memory (tests, CLI ``--wallet-key-file``)."""

from __future__ import annotations

from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.ethereum import address_of_public_key
from app.keyengine.crypto.hashes import eip191_digest
from app.keyengine.texts import classify_text


class RawKeySigner:
    """Signs XMTP texts with a private key it holds; refuses every other text."""

    __slots__ = ("_address", "_secret")

    def __init__(self, private_key: bytes) -> None:
        secp256k1.validate_private_key(private_key)
        self._secret = private_key
        self._address = address_of_public_key(secp256k1.public_key_of(private_key))

    @classmethod
    def from_hex(cls, text: str) -> RawKeySigner:
        """Parse a hex private key (optional ``0x``, surrounding whitespace ignored)."""
        cleaned = text.strip().removeprefix("0x").removeprefix("0X")
        try:
            key = bytes.fromhex(cleaned)
        except ValueError:
            raise ValueError("wallet key file must hold a 32-byte hex private key") from None
        return cls(key)

    def __repr__(self) -> str:
        return f"RawKeySigner(address={self._address})"

    @property
    def address(self) -> str:
        return self._address

    async def sign_personal(self, text: str) -> bytes:
        return self.sign_personal_sync(text)

    def sign_personal_sync(self, text: str) -> bytes:
        """Synchronous form for offline tools and benchmarks."""
        classify_text(text)
        raw, recovery = secp256k1.sign_digest(self._secret, eip191_digest(text.encode("utf-8")))
        return raw + bytes([27 + recovery])
