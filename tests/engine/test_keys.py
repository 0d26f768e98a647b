"""secp256k1 strictness (``crypto/secp256k1`` and the ``keys`` values built on it): low-S
only, recovery ids 0 and 1, points on the curve, private keys in range.
"""

from __future__ import annotations

import pytest

from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.hashes import sha256
from app.keyengine.errors import InvalidKey, InvalidSignature
from app.keyengine.keys import PrivateKey, PublicKey, Signature
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import BASE_MS

N = secp256k1.CURVE_ORDER


def test_high_s_signature_is_rejected() -> None:
    secret = b"\x05" * 32
    public = secp256k1.public_key_of(secret)
    digest = sha256(b"high-S")
    raw, recovery = secp256k1.sign_digest(secret, digest)
    assert secp256k1.is_low_s(raw) and secp256k1.verify_digest(public, digest, raw)
    s = int.from_bytes(raw[32:], "big")
    high = raw[:32] + (N - s).to_bytes(32, "big")
    assert not secp256k1.is_low_s(high)
    assert not secp256k1.verify_digest(public, digest, high)
    # The same signature in the other form: only its S half is wrong.
    assert secp256k1.recover_public_key(digest, high, recovery ^ 1) == public
    assert secp256k1.normalize_s(high, recovery ^ 1) == (raw, recovery)


def test_recovery_ids_other_than_0_and_1_are_rejected() -> None:
    secret = b"\x05" * 32
    digest = sha256(b"recovery")
    raw, _ = secp256k1.sign_digest(secret, digest)
    for recovery in (2, 3, 27, -1):
        with pytest.raises(InvalidSignature):
            secp256k1.recover_public_key(digest, raw, recovery)
        with pytest.raises(InvalidSignature):
            Signature(raw, recovery)
    for v in (2, 3, 29, 30, 255):
        with pytest.raises(InvalidSignature):
            Signature.from_wallet_bytes(raw + bytes([v]), by_wallet=False)


def _bad_points() -> dict[str, bytes]:
    point = secp256k1.public_key_of(b"\x05" * 32)
    return {
        "prefix-02": b"\x02" + point[1:],
        "prefix-03": b"\x03" + point[1:],
        "prefix-05": b"\x05" + point[1:],
        "prefix-06": b"\x06" + point[1:],
        "not-on-curve": point[:-1] + bytes([point[-1] ^ 0x01]),
        "x-not-on-curve": b"\x04" + b"\x00" * 31 + b"\x05" + point[33:],
        "64-bytes": point[1:],
        "compressed": bytes([2 + point[-1] % 2]) + point[1:33],
        "66-bytes": point + b"\x00",
        "empty": b"",
        "all-zero": b"\x04" + b"\x00" * 64,
    }


@pytest.mark.parametrize("name", sorted(_bad_points()))
def test_invalid_points_are_invalid_key(name: str) -> None:
    bad = _bad_points()[name]
    with pytest.raises(InvalidKey):
        secp256k1.validate_public_key(bad)
    with pytest.raises(InvalidKey):
        PublicKey(BASE_MS, bad)
    if name not in ("prefix-06", "compressed"):  # hazmat ecdh parses every SEC1 encoding
        with pytest.raises(InvalidKey):
            secp256k1.ecdh(b"\x07" * 32, bad)
    assert not secp256k1.verify_digest(bad, b"\x00" * 32, b"\x01" * 64)


@pytest.mark.parametrize(
    "scalar",
    [0, N, N + 1, 2**256 - 1],
    ids=["zero", "n", "n+1", "max"],
)
def test_out_of_range_private_keys_are_invalid_key(scalar: int) -> None:
    secret = scalar.to_bytes(32, "big")
    public = secp256k1.public_key_of(b"\x05" * 32)
    with pytest.raises(InvalidKey):
        secp256k1.validate_private_key(secret)
    with pytest.raises(InvalidKey):
        secp256k1.public_key_of(secret)
    with pytest.raises(InvalidKey):
        secp256k1.sign_digest(secret, b"\x00" * 32)
    with pytest.raises(InvalidKey):
        secp256k1.ecdh(secret, public)
    with pytest.raises(InvalidKey):
        PrivateKey(BASE_MS, secret, PublicKey(BASE_MS, public))
    with pytest.raises(InvalidKey):
        RawKeySigner(secret)


def test_private_key_length_and_top_of_range() -> None:
    for secret in (b"", b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(InvalidKey):
            secp256k1.validate_private_key(secret)
    secp256k1.validate_private_key((N - 1).to_bytes(32, "big"))
    secp256k1.validate_private_key((1).to_bytes(32, "big"))
