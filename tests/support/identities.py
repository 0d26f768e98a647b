"""Deterministic identities and small byte tools for the engine tests (``tests/engine/``).

Fixed timestamps make every bundle, invitation and message reproducible, so a failing test
fails the same way on every run.
"""

from __future__ import annotations

from typing import Final

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner

BASE_MS: Final = 1_700_000_000_000
CREATED_NS: Final = 1_700_000_000_000_000_000
WALLET_PRE_KEY: Final = b"\x42" * 32
"""A fixed wallet pre-key for encrypted bundles sealed by hand (``seal_bundle``)."""


async def make_identity(signer: RawKeySigner, offset: int = 0) -> PrivateKeyBundleV1:
    """A new identity of ``signer`` created ``offset`` ms after ``BASE_MS``."""
    return await generate_identity(signer, timestamp_ms=BASE_MS + offset)


def rotate_times(bundle: PrivateKeyBundleV1, times: int) -> PrivateKeyBundleV1:
    """``bundle`` after ``times`` pre-key rotations, 10 s apart."""
    for step in range(times):
        bundle = rotate_pre_key(bundle, timestamp_ms=BASE_MS + 10_000 * (step + 1))
    return bundle


def flipped(data: bytes, index: int = 0) -> bytes:
    """``data`` with the lowest bit of byte ``index`` flipped."""
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)
