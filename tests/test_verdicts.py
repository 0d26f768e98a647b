"""The engine's verdicts on keys: each link of the chain of trust, with what held and why."""

from __future__ import annotations

import pytest

from app.keyengine.artefacts import ArtefactKind, PartiesArtefact, detect
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import contacts_of, verify_contact
from app.keyengine.invitations import create_invitation
from app.keyengine.keys import PrivateKey
from app.keyengine.prekeys import new_pre_key
from app.keyengine.recipes import generate_identity
from app.keyengine.verdicts import (
    CONTACT_PUBLISHED,
    PRE_KEY_SIGNATURE,
    WALLET_SIGNATURE,
    LookupResult,
    check_attestation,
    check_pre_key,
    check_private_bundle,
    opener_mismatch,
)
from app.keyengine.wallets import RawKeySigner

pytestmark = pytest.mark.asyncio


async def test_attestation_recovers_the_wallet(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    identity = (await generate_identity(wallet)).identity_key.public_key
    verdict = check_attestation(identity, wallet.address.lower())
    assert verdict.ok and verdict.recovered == wallet.address
    assert verdict.check.name == WALLET_SIGNATURE
    other = check_attestation(identity, other_wallet.address)
    assert not other.ok and other.recovered == wallet.address
    assert other.check.detail == (
        f"identity key is attested by {wallet.address}, not by {other_wallet.address}"
    )
    unsigned = check_attestation(PrivateKey.generate(1).public_key)
    assert unsigned.recovered is None and not unsigned.ok
    assert "no wallet signature" in unsigned.check.detail


async def test_pre_key_signed_by_another_identity_fails_its_link(wallet: RawKeySigner) -> None:
    bundle = await generate_identity(wallet)
    identity = bundle.identity_key.public_key.point
    good = check_pre_key(identity, bundle.current_pre_key.public_key)
    assert good.ok and good.name == PRE_KEY_SIGNATURE
    foreign = new_pre_key(PrivateKey.generate(5), 6).public_key
    bad = check_pre_key(identity, foreign, "current pre-key")
    assert not bad.ok
    assert bad.detail == "current pre-key: pre-key is not signed by the identity key"
    assert check_pre_key(identity, None).detail == "pre-key: bundle has no pre-key"


async def test_private_bundle_verdict_lists_every_problem(wallet: RawKeySigner) -> None:
    bundle = await generate_identity(wallet)
    foreign = new_pre_key(PrivateKey.generate(5), 6)
    mixed = PrivateKeyBundleV1(bundle.identity_key, (foreign, *bundle.pre_keys))
    verdict = check_private_bundle(mixed)
    assert verdict.wallet_address == wallet.address
    assert verdict.errors == ("current pre-key: pre-key is not signed by the identity key",)
    assert [key.point for key in verdict.pre_keys] == [k.public_key.point for k in mixed.pre_keys]
    assert check_private_bundle(bundle).signatures_valid
    assert opener_mismatch(verdict, wallet.address) is None
    assert opener_mismatch(verdict, "0x" + "00" * 20) == (
        f"the identity key is attested by {wallet.address}, not by the wallet that decrypted it"
    )


async def test_lookup_links_name_what_was_found(wallet: RawKeySigner) -> None:
    nothing = LookupResult(wallet.address, None, None, None, ("no contact published",))
    [link] = nothing.links
    assert link.name == CONTACT_PUBLISHED and not link.ok
    bundle = await generate_identity(wallet)
    contact = contacts_of(bundle)[1]
    found = LookupResult(wallet.address, contact, verify_contact(contact, wallet.address), 1, ())
    assert [(link.name, link.ok) for link in found.links] == [
        (CONTACT_PUBLISHED, True),
        (WALLET_SIGNATURE, True),
        (PRE_KEY_SIGNATURE, True),
    ]


async def test_a_sealed_invitation_is_judged_party_by_party(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await generate_identity(wallet)
    bob = await generate_identity(other_wallet)
    sealed, _ = create_invitation(alice, bob.signed_public_key_bundle(), 10**18)
    artefact = detect(sealed.to_bytes())
    assert isinstance(artefact, PartiesArtefact)
    assert artefact.kind is ArtefactKind.SEALED_INVITATION
    assert artefact.sender.wallet_address == wallet.address
    assert artefact.recipient.wallet_address == other_wallet.address
    assert artefact.signatures_valid and artefact.errors == ()


def test_typed_addresses_are_checked_in_plain_words() -> None:
    from app.keyengine.verdicts import check_address

    right = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # an EIP-55 example
    assert check_address(right).address == right
    assert not check_address(right).checksum_mismatch
    assert check_address(right.lower()).address == right  # all lower case: no checksum
    wrong = right[:-1] + "D"
    mismatch = check_address(wrong)
    assert mismatch.valid and mismatch.checksum_mismatch and mismatch.address == right
    assert check_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").reason == (
        "it must start with 0x"
    )
    assert "it has 39" in check_address(right[:-1]).reason
    assert check_address("0x" + "g" * 40).reason == "these are not hex digits: g"
