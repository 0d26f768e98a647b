"""The one key fingerprint: stable, from the point alone, never for bytes that are not a key."""

from __future__ import annotations

import hashlib

import pytest

from app.keyengine.errors import InvalidKey
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.keys import PrivateKey, PublicKey


def test_fingerprint_is_grouped_sha256_prefix_of_the_point() -> None:
    point = PrivateKey.generate(1).public_key.point
    shown = key_fingerprint(point)
    assert shown.replace(" ", "") == hashlib.sha256(point).hexdigest()[:40].upper()
    assert [len(group) for group in shown.split(" ")] == [4] * 10


def test_fingerprint_does_not_depend_on_encoding_or_timestamp() -> None:
    key = PrivateKey.generate(1_000)
    signed = key.sign_key(PublicKey(2_000, key.public_key.point))
    assert key_fingerprint(key.public_key.point) == key_fingerprint(signed.point)
    assert key_fingerprint(key.public_key.point) != key_fingerprint(
        PrivateKey.generate(1).public_key.point
    )


@pytest.mark.parametrize("data", [b"", b"\x04" + b"\x00" * 64, b"\x02" + b"\x01" * 32])
def test_fingerprint_refuses_what_is_not_a_key(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        key_fingerprint(data)
