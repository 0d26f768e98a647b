"""Every wallet signature is checked before it is used (``wallets/base.py``): a signer that
signs with another key is ``WrongWallet``, one that returns garbage ``InvalidSignature``, in
generation, encryption and decryption alike.
"""

from __future__ import annotations

import pytest

from app.keyengine.errors import InvalidSignature, WrongWallet
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import make_identity


class WrongKeySigner:
    """Claims one account but signs with another key: a fault the real signers cannot produce."""

    def __init__(self, claimed: str, actual: RawKeySigner) -> None:
        self._claimed = claimed
        self._actual = actual

    @property
    def address(self) -> str:
        return self._claimed

    async def sign_personal(self, text: str) -> bytes:
        return self._actual.sign_personal_sync(text)


class GarbageSigner:
    """Returns fixed bytes whatever it is asked to sign."""

    def __init__(self, address: str, signature: bytes) -> None:
        self._address = address
        self._signature = signature

    @property
    def address(self) -> str:
        return self._address

    async def sign_personal(self, text: str) -> bytes:
        return self._signature


@pytest.mark.asyncio
async def test_signer_signing_with_another_key_is_wrong_wallet(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    impostor = WrongKeySigner(wallet.address, other_wallet)
    with pytest.raises(WrongWallet):
        await generate_identity(impostor)
    bundle = await make_identity(wallet)
    with pytest.raises(WrongWallet):
        await encrypt_bundle(bundle, impostor)
    encrypted = await encrypt_bundle(bundle, wallet)
    with pytest.raises(WrongWallet):
        await decrypt_bundle(encrypted, impostor)


@pytest.mark.parametrize(
    "garbage",
    [bytes(range(64)) + b"\x05", bytes(range(64)), b"\x00" * 64 + b"\x1b", b""],
    ids=["v=5", "64-bytes", "zero-r-s", "empty"],
)
@pytest.mark.asyncio
async def test_signer_returning_garbage_is_invalid_signature(
    wallet: RawKeySigner, garbage: bytes
) -> None:
    signer = GarbageSigner(wallet.address, garbage)
    with pytest.raises(InvalidSignature):
        await generate_identity(signer)
    bundle = await make_identity(wallet)
    with pytest.raises(InvalidSignature):
        await encrypt_bundle(bundle, signer)
    encrypted = await encrypt_bundle(bundle, wallet)
    with pytest.raises(InvalidSignature):
        await decrypt_bundle(encrypted, signer)
