"""Generating an identity (what the wallet is asked to sign, the attestation) and rotating
pre-keys (the history kept newest first, timestamps always increasing): ``prekeys``.
"""

from __future__ import annotations

import itertools

import pytest

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.bundles import PrivateKeyBundleV2
from app.keyengine.contact import ContactBundle
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.texts import (
    SignaturePurpose,
    SignatureRequest,
    create_identity_text,
    enable_identity_text,
)
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import BASE_MS, make_identity

Observed = list[tuple[SignatureRequest, str]]


@pytest.mark.asyncio
async def test_generation_attests_the_signer_wallet(wallet: RawKeySigner) -> None:
    seen: Observed = []
    bundle = await generate_identity(
        wallet, lambda request, address: seen.append((request, address)), timestamp_ms=BASE_MS
    )
    assert bundle.wallet_address == wallet.address
    bundle.verify()
    assert len(bundle.pre_keys) == 1
    assert bundle.identity_key.public_key.timestamp_ms == BASE_MS
    assert recover_wallet_address(bundle.identity_key.public_key) == wallet.address
    assert PrivateKeyBundleV2.from_legacy(bundle).wallet_address == wallet.address
    assert bundle.signed_public_key_bundle().wallet_address == wallet.address
    key_bytes = bundle.identity_key.public_key.bytes_to_sign()
    assert [(r.purpose, r.text, r.payload, a) for r, a in seen] == [
        (
            SignaturePurpose.CREATE_IDENTITY,
            create_identity_text(key_bytes),
            key_bytes,
            wallet.address,
        )
    ]


@pytest.mark.asyncio
async def test_observer_sees_create_then_enable_identity(wallet: RawKeySigner) -> None:
    seen: Observed = []

    def observer(request: SignatureRequest, address: str) -> None:
        seen.append((request, address))

    bundle = await generate_identity(wallet, observer, timestamp_ms=BASE_MS)
    encrypted = await encrypt_bundle(bundle, wallet, observer)
    assert [r.purpose for r, _ in seen] == [
        SignaturePurpose.CREATE_IDENTITY,
        SignaturePurpose.ENABLE_IDENTITY,
    ]
    enable, address = seen[1]
    assert address == wallet.address
    assert enable.text == enable_identity_text(encrypted.wallet_pre_key)
    assert enable.payload == encrypted.wallet_pre_key
    assert enable == encrypted.signature_request
    assert await decrypt_bundle(encrypted, wallet, observer) == bundle
    assert len(seen) == 3 and seen[2] == seen[1]


@pytest.mark.asyncio
async def test_rotation_keeps_every_pre_key_newest_first(wallet: RawKeySigner) -> None:
    bundles = [await make_identity(wallet)]
    for step in range(1, 6):
        # The clock goes backwards on every rotation: timestamps must still increase.
        bundles.append(rotate_pre_key(bundles[-1], timestamp_ms=BASE_MS - 1000 * step))
    final = bundles[-1]
    assert final.pre_keys == tuple(b.current_pre_key for b in reversed(bundles))
    for earlier, later in itertools.pairwise(bundles):
        assert later.pre_keys[1:] == earlier.pre_keys
        assert later.identity_key == earlier.identity_key
    stamps = [key.timestamp_ms for key in final.pre_keys]
    assert all(newer > older for newer, older in itertools.pairwise(stamps))
    assert all(key.public_key.timestamp_ms == key.timestamp_ms for key in final.pre_keys)
    final.verify()
    for key in final.pre_keys:
        assert final.find_pre_key(key.public_key.point) == key

    current = final.current_pre_key.public_key
    assert final.public_key_bundle().pre_key == current
    assert final.signed_public_key_bundle().pre_key.point == current.point
    published = (
        final.public_key_bundle().to_bytes()
        + final.signed_public_key_bundle().to_bytes()
        + ContactBundle.v2(final.signed_public_key_bundle()).to_bytes()
    )
    for old in final.pre_keys[1:]:
        assert old.public_key.point not in published


@pytest.mark.asyncio
async def test_rotation_uses_a_later_timestamp_as_given(wallet: RawKeySigner) -> None:
    bundle = rotate_pre_key(await make_identity(wallet), timestamp_ms=BASE_MS + 5_000)
    assert bundle.current_pre_key.timestamp_ms == BASE_MS + 5_000
