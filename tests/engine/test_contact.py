"""Contact bundles (``contact``): verification reports which wallet a contact belongs to."""

from __future__ import annotations

import pytest

from app.keyengine.contact import ContactBundle, verify_contact
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import make_identity


@pytest.mark.asyncio
async def test_contact_verification_reports_wallet_mismatch(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    for contact in (
        ContactBundle.v1(alice.public_key_bundle()),
        ContactBundle.v2(alice.signed_public_key_bundle()),
    ):
        report = verify_contact(contact, expected_wallet=other_wallet.address)
        assert not report.valid
        assert report.wallet_address == wallet.address
        assert len(report.errors) == 1
        assert wallet.address in report.errors[0] and other_wallet.address in report.errors[0]
        assert verify_contact(contact, expected_wallet=wallet.address.lower()).valid
        assert verify_contact(contact).valid
