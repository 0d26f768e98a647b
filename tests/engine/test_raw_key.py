"""The raw-key signer (``wallets/raw_key.py``) signs the two XMTP texts and nothing else."""

from __future__ import annotations

import pytest

from app.keyengine.errors import UnsupportedText
from app.keyengine.texts import consent_proof_text, create_identity_text, enable_identity_text
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import BASE_MS, WALLET_PRE_KEY


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "",
        consent_proof_text("0x" + "ab" * 20, BASE_MS),
        create_identity_text(b"\x01\x02").upper(),
        create_identity_text(b"\x01\x02").replace("0102", "ABCD"),
        create_identity_text(b"\x01\x02").replace("0102", "012"),
        create_identity_text(b"\x01\x02").replace("0102", ""),
        create_identity_text(b"\x01\x02") + "\n",
        " " + create_identity_text(b"\x01\x02"),
        enable_identity_text(b"\x01" * 31),
        enable_identity_text(b"\x01" * 33),
        enable_identity_text(b"\x01" * 32).replace("xmtp.org", "evil.org"),
    ],
)
@pytest.mark.asyncio
async def test_raw_key_signer_refuses_other_texts(wallet: RawKeySigner, text: str) -> None:
    with pytest.raises(UnsupportedText):
        await wallet.sign_personal(text)
    with pytest.raises(UnsupportedText):
        wallet.sign_personal_sync(text)


@pytest.mark.asyncio
async def test_raw_key_signer_signs_both_xmtp_texts(wallet: RawKeySigner) -> None:
    for text in (create_identity_text(b"\x01\x02"), enable_identity_text(WALLET_PRE_KEY)):
        signature = await wallet.sign_personal(text)
        assert len(signature) == 65 and signature[64] in (27, 28)
