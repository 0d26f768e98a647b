"""The encrypted private store (``encrypted_bundle``): round trip, another wallet, tampering,
and the recovery byte of the wallet signature in both of its forms.
"""

from __future__ import annotations

import dataclasses

import pytest

from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, open_bundle, seal_bundle
from app.keyengine.errors import DecryptionFailed
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle
from app.keyengine.texts import enable_identity_text
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import WALLET_PRE_KEY, flipped, make_identity, rotate_times


@pytest.mark.asyncio
async def test_encrypted_bundle_round_trip(wallet: RawKeySigner) -> None:
    bundle = rotate_times(await make_identity(wallet), 3)
    encrypted = await encrypt_bundle(bundle, wallet)
    stored = EncryptedPrivateKeyBundle.from_bytes(encrypted.to_bytes())
    assert stored == encrypted
    opened = await decrypt_bundle(stored, wallet)
    assert opened == bundle
    assert opened.pre_keys == bundle.pre_keys


@pytest.mark.asyncio
async def test_decrypting_with_another_wallet_fails(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    encrypted = await encrypt_bundle(await make_identity(wallet), wallet)
    with pytest.raises(DecryptionFailed) as caught:
        await decrypt_bundle(encrypted, other_wallet)
    assert type(caught.value) is DecryptionFailed


@pytest.mark.parametrize("field", ["payload", "hkdf_salt", "gcm_nonce"])
@pytest.mark.asyncio
async def test_tampered_stored_bundle_fails_to_decrypt(wallet: RawKeySigner, field: str) -> None:
    bundle = await make_identity(wallet)
    signature = wallet.sign_personal_sync(enable_identity_text(WALLET_PRE_KEY))
    encrypted = seal_bundle(bundle, signature, WALLET_PRE_KEY)
    ciphertext = encrypted.ciphertext
    tampered_ciphertext = dataclasses.replace(
        ciphertext, **{field: flipped(getattr(ciphertext, field), 5)}
    )
    tampered = dataclasses.replace(encrypted, ciphertext=tampered_ciphertext)
    with pytest.raises(DecryptionFailed):
        open_bundle(tampered, signature)
    with pytest.raises(DecryptionFailed) as caught:
        await decrypt_bundle(tampered, wallet)
    assert type(caught.value) is DecryptionFailed
    assert open_bundle(encrypted, signature) == bundle


@pytest.mark.asyncio
async def test_v_toggled_by_27_opens_and_wrong_v_does_not(wallet: RawKeySigner) -> None:
    bundle = await make_identity(wallet)
    signature = wallet.sign_personal_sync(enable_identity_text(WALLET_PRE_KEY))
    recovery = signature[64] - 27
    ledger = signature[:64] + bytes([recovery])
    assert open_bundle(seal_bundle(bundle, signature, WALLET_PRE_KEY), ledger) == bundle
    assert open_bundle(seal_bundle(bundle, ledger, WALLET_PRE_KEY), signature) == bundle
    encrypted = seal_bundle(bundle, signature, WALLET_PRE_KEY)
    for wrong_v in (27 + (recovery ^ 1), recovery ^ 1, 29, 2):
        with pytest.raises(DecryptionFailed):
            open_bundle(encrypted, signature[:64] + bytes([wrong_v]))
    with pytest.raises(DecryptionFailed):
        open_bundle(encrypted, signature[:64])
