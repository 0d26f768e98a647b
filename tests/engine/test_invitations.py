"""Sealed invitations (``invitations``) across pre-key rotations, and their refusals."""

from __future__ import annotations

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.errors import InvalidInvitation, NoMatchingPreKey
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import CREATED_NS, make_identity, rotate_times


@pytest.mark.asyncio
async def test_invitation_sealed_before_two_rotations_still_opens(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    bob_then = await make_identity(other_wallet, 1)
    sealed, invitation = create_invitation(alice, bob_then.signed_public_key_bundle(), CREATED_NS)
    bob_now = rotate_times(bob_then, 2)
    old_pre_key = bob_then.current_pre_key.public_key.point
    assert bob_now.current_pre_key.public_key.point != old_pre_key

    opened = open_invitation(bob_now, sealed.to_bytes(), envelope_timestamp_ns=CREATED_NS)
    assert opened.invitation == invitation
    assert opened.pre_key_public == old_pre_key
    assert opened.peer_address == wallet.address
    assert not opened.sent_by_us
    assert opened.created_ns == CREATED_NS

    # Without its history the rotated bundle cannot open it: the history is what matters.
    forgetful = PrivateKeyBundleV1(bob_now.identity_key, bob_now.pre_keys[:1])
    with pytest.raises(NoMatchingPreKey):
        open_invitation(forgetful, sealed.to_bytes())

    # The sender rotates too and still opens what it sent, with its own old pre-key.
    alice_now = rotate_times(alice, 2)
    own = open_invitation(alice_now, sealed.to_bytes())
    assert own.sent_by_us and own.invitation == invitation
    assert own.pre_key_public == alice.current_pre_key.public_key.point
    assert own.peer_address == other_wallet.address

    # A new invitation to the rotated bundle uses its current pre-key.
    fresh, fresh_invitation = create_invitation(
        alice_now, bob_now.signed_public_key_bundle(), CREATED_NS + 1
    )
    new_pre_key = bob_now.current_pre_key.public_key.point
    assert fresh.header.recipient.pre_key.point == new_pre_key
    assert fresh.header.sender.pre_key.point == alice_now.current_pre_key.public_key.point
    opened_fresh = open_invitation(bob_now, fresh.to_bytes(), envelope_timestamp_ns=CREATED_NS + 1)
    assert opened_fresh.pre_key_public == new_pre_key
    assert opened_fresh.invitation == fresh_invitation


@pytest.mark.asyncio
async def test_invitation_envelope_timestamp_mismatch(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    bob = await make_identity(other_wallet, 1)
    sealed, _ = create_invitation(alice, bob.signed_public_key_bundle(), CREATED_NS)
    for wrong in (CREATED_NS + 1, CREATED_NS - 1_000_000, 0):
        with pytest.raises(InvalidInvitation, match="timestamp"):
            open_invitation(bob, sealed.to_bytes(), envelope_timestamp_ns=wrong)
    assert open_invitation(bob, sealed, envelope_timestamp_ns=CREATED_NS).created_ns == CREATED_NS


@pytest.mark.asyncio
async def test_invitation_not_addressed_to_us(
    wallet: RawKeySigner, other_wallet: RawKeySigner, carol_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    bob = await make_identity(other_wallet, 1)
    carol = await make_identity(carol_wallet, 2)
    sealed, _ = create_invitation(alice, bob.signed_public_key_bundle(), CREATED_NS)
    with pytest.raises(InvalidInvitation, match="not addressed"):
        open_invitation(carol, sealed.to_bytes())
