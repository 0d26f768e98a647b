"""The seed's flows against a real node on loopback: generation, retrieval, rotation, lookup."""

from __future__ import annotations

import time

import pytest

from app.keyengine.contact import ContactBundle
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import DecryptionFailed
from app.keyengine.flows import EventKind, FlowEvent, KeyFlows
from app.keyengine.invitations import create_invitation
from app.keyengine.network import Envelope, QuerySpec, TokenSource, XmtpClient
from app.keyengine.recipes import generate_identity
from app.keyengine.texts import SignaturePurpose
from app.keyengine.topics import contact_topic, invite_topic, private_store_topic
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner

pytestmark = pytest.mark.asyncio


def purposes(events: list[FlowEvent]) -> list[SignaturePurpose]:
    return [e.request.purpose for e in events if e.kind is EventKind.SIGN_REQUEST and e.request]


async def test_first_login_generates_stores_and_publishes(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, events: list[FlowEvent]
) -> None:
    identity = await flows.login(wallet)
    assert identity.source == "generated"
    assert identity.wallet_address == wallet.address
    assert purposes(events) == [SignaturePurpose.CREATE_IDENTITY, SignaturePurpose.ENABLE_IDENTITY]
    assert [r.text for r in identity.signed] == [
        e.request.text for e in events if e.kind is EventKind.SIGN_REQUEST and e.request
    ]
    stored = await client.query(QuerySpec(private_store_topic(wallet.address)))
    assert len(stored) == 1
    assert stored[0].message == identity.encrypted.to_bytes()
    contacts = await client.query(QuerySpec(contact_topic(wallet.address)))
    kinds = sorted(ContactBundle.from_bytes(e.message).version.value for e in contacts)
    assert kinds == ["v1", "v2"]
    assert len({e.timestamp_ns for e in contacts}) == 2
    assert flows.vault.journal.pending(wallet.address) is None


async def test_returning_user_retrieves_with_one_signature(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, events: list[FlowEvent]
) -> None:
    first = await flows.login(wallet)
    events.clear()
    second = await flows.login(wallet)
    assert second.source == "retrieved"
    assert second.bundle == first.bundle
    assert purposes(events) == [SignaturePurpose.ENABLE_IDENTITY]
    # Nothing new was stored or published.
    assert len(await client.query(QuerySpec(private_store_topic(wallet.address)))) == 1
    assert len(await client.query(QuerySpec(contact_topic(wallet.address)))) == 2


async def test_rotation_keeps_history_and_restores_it(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, tmp_path
) -> None:
    identity = await flows.login(wallet)
    first_pre_key = identity.bundle.current_pre_key
    rotated = await flows.rotate_prekey(wallet, identity)
    rotated = await flows.rotate_prekey(wallet, rotated)
    assert len(rotated.bundle.pre_keys) == 3
    assert rotated.bundle.pre_keys[-1] == first_pre_key
    # A fresh machine (empty vault) retrieves all three from the network.
    fresh = KeyFlows(client, Vault(tmp_path / "other", MemoryStore()))
    again = await fresh.login(wallet)
    assert again.source == "retrieved"
    assert again.bundle == rotated.bundle
    # The published contact names only the current pre-key.
    lookup = await fresh.lookup(wallet.address)
    assert lookup.valid
    assert lookup.contact is not None
    assert lookup.contact.pre_key_point == rotated.bundle.current_pre_key.public_key.point


async def test_lookup_reports_each_link(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    await flows.login(wallet)
    found = await flows.lookup(wallet.address.lower())
    assert found.valid and found.wallet_address == wallet.address
    assert found.verification is not None
    assert [c.name for c in found.verification.checks] == ["wallet_signature", "pre_key_signature"]
    missing = await flows.lookup(other_wallet.address)
    assert not missing.valid and "no contact published" in missing.errors


async def test_lookup_skips_a_contact_attested_by_another_wallet(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    """Another wallet cannot publish to our contact topic (node ACL) and a bundle attested by
    another wallet is never accepted as ours."""
    ours = await flows.login(wallet)
    intruder = await generate_identity(other_wallet)
    with pytest.raises(Exception, match="refused"):
        await client.publish(
            [
                Envelope(
                    contact_topic(wallet.address),
                    time.time_ns(),
                    ContactBundle.v2(intruder.signed_public_key_bundle()).to_bytes(),
                )
            ],
            TokenSource(intruder),
        )
    found = await flows.lookup(wallet.address)
    assert found.valid
    assert found.contact is not None
    assert found.contact.identity_point == ours.bundle.identity_key.public_key.point


async def test_invites_open_with_historical_pre_keys(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    me = await flows.login(wallet)
    peer = await generate_identity(other_wallet)
    created = time.time_ns() // 1_000_000 * 1_000_000
    sealed, invitation = create_invitation(peer, me.bundle.signed_public_key_bundle(), created)
    await client.publish(
        [Envelope(invite_topic(wallet.address), created, sealed.to_bytes())], TokenSource(peer)
    )
    rotated = await flows.rotate_prekey(wallet, me)
    rotated = await flows.rotate_prekey(wallet, rotated)
    report = await flows.invites(rotated.bundle)
    assert report.errors == ()
    [invite] = report.invites
    assert invite.peer_address == other_wallet.address
    assert invite.topic == invitation.topic
    assert invite.pre_key == me.bundle.current_pre_key.public_key.point
    assert invite.pre_key != rotated.bundle.current_pre_key.public_key.point


async def test_newer_unreadable_bundles_fall_back_to_the_one_that_opens(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, tmp_path, events: list[FlowEvent]
) -> None:
    identity = await flows.login(wallet)
    forged = EncryptedPrivateKeyBundle(b"\x07" * 32, identity.encrypted.ciphertext)
    tokens = TokenSource(identity.bundle)
    topic = private_store_topic(wallet.address)
    later = time.time_ns() + 10**9
    await client.publish([Envelope(topic, later, b"\x01not a bundle")], tokens)
    await client.publish([Envelope(topic, later + 1, forged.to_bytes())], tokens)
    events.clear()
    fresh = KeyFlows(client, Vault(tmp_path / "fresh", None), events.append)
    again = await fresh.login(wallet)
    assert again.bundle == identity.bundle and again.source == "retrieved"
    warnings = [e.message for e in events if e.kind is EventKind.WARNING]
    assert any("unreadable" in w for w in warnings)
    assert any("did not open" in w for w in warnings)


async def test_undecryptable_stored_keys_never_trigger_a_new_identity(
    client: XmtpClient, tmp_path, wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    """If keys are stored but none opens, login refuses: generating would orphan them."""
    owner = await generate_identity(wallet)
    someone_elses = await KeyFlows(client, Vault(tmp_path / "o", None)).login(other_wallet)
    forged = EncryptedPrivateKeyBundle(b"\x09" * 32, someone_elses.encrypted.ciphertext)
    topic = private_store_topic(wallet.address)
    await client.publish([Envelope(topic, time.time_ns(), forged.to_bytes())], TokenSource(owner))
    with pytest.raises(DecryptionFailed, match="none opens"):
        await KeyFlows(client, Vault(tmp_path / "w", None)).login(wallet)
    assert await client.query(QuerySpec(contact_topic(wallet.address))) == []
    assert len(await client.query(QuerySpec(topic))) == 1
