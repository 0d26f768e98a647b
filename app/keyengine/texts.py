"""The only texts XMTP ever asks a wallet to sign, built as values before anything is signed.

Front ends render exactly the ``SignatureRequest`` the engine built, and signers refuse any text
that ``classify_text`` does not recognise, so a compromised caller cannot get arbitrary text
signed through the app.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.keyengine.errors import UnsupportedText

_FOOTER = "\n\nFor more info: https://xmtp.org/signatures/"
_CREATE_PREFIX = "XMTP : Create Identity\n"
_ENABLE_PREFIX = "XMTP : Enable Identity\n"
_CREATE_RE = re.compile(
    r"^XMTP : Create Identity\n([0-9a-f]+)\n\nFor more info: https://xmtp\.org/signatures/\Z"
)
_ENABLE_RE = re.compile(
    r"^XMTP : Enable Identity\n([0-9a-f]{64})\n\nFor more info: https://xmtp\.org/signatures/\Z"
)


def consent_proof_text(peer_address: str, timestamp_ms: int) -> str:
    """The iOS consent-proof text (not a key text: signers here refuse it; kept for inspection)."""
    when = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return (
        "XMTP : Grant inbox consent to sender\n\n"
        f"Current Time: {when}\nFrom Address: {peer_address}" + _FOOTER
    )


class SignaturePurpose(enum.Enum):
    """Why the wallet is asked to sign; front ends phrase their prompt from this."""

    CREATE_IDENTITY = "create_identity"
    """Attest a new identity key: anyone can then check it belongs to this wallet."""
    ENABLE_IDENTITY = "enable_identity"
    """Derive the secret that encrypts (or unlocks) the private key bundle on the network."""


def create_identity_text(key_bytes: bytes) -> str:
    """``XMTP : Create Identity`` text over an identity key's bytes to sign."""
    return _CREATE_PREFIX + key_bytes.hex() + _FOOTER


def enable_identity_text(wallet_pre_key: bytes) -> str:
    """``XMTP : Enable Identity`` text over the 32-byte storage ``wallet_pre_key``."""
    return _ENABLE_PREFIX + wallet_pre_key.hex() + _FOOTER


@dataclass(frozen=True, slots=True)
class SignatureRequest:
    """One wallet signature the engine needs: its purpose, exact text and signed payload."""

    purpose: SignaturePurpose
    text: str
    payload: bytes
    """The bytes named in hex inside ``text`` (identity key bytes or wallet pre-key)."""
    stores: bool = field(default=False, compare=False)
    """For Enable Identity: True when the signature seals keys to store them (a new wallet
    pre-key), False when it opens stored keys; a prompt's title says which."""

    @classmethod
    def create_identity(cls, key_bytes: bytes) -> SignatureRequest:
        return cls(SignaturePurpose.CREATE_IDENTITY, create_identity_text(key_bytes), key_bytes)

    @classmethod
    def enable_identity(cls, wallet_pre_key: bytes, *, stores: bool = False) -> SignatureRequest:
        return cls(
            SignaturePurpose.ENABLE_IDENTITY,
            enable_identity_text(wallet_pre_key),
            wallet_pre_key,
            stores,
        )


def classify_text(text: str) -> SignatureRequest:
    """Parse ``text`` back into the request it came from; ``UnsupportedText`` otherwise."""
    if (match := _CREATE_RE.match(text)) is not None and len(match.group(1)) % 2 == 0:
        return SignatureRequest.create_identity(bytes.fromhex(match.group(1)))
    if (match := _ENABLE_RE.match(text)) is not None:
        return SignatureRequest.enable_identity(bytes.fromhex(match.group(1)))
    raise UnsupportedText("refusing to sign a text that is not an XMTP identity text")
