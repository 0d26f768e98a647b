"""Messages v1 and v2 (``messages``): decrypting across rotations, and their refusals."""

from __future__ import annotations

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.content import encode_text
from app.keyengine.crypto.hashes import sha256
from app.keyengine.errors import InvalidMessage
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.messages import (
    decode_message_v1,
    decode_message_v2,
    encode_message_v1,
    encode_message_v2,
)
from app.keyengine.topics import dm_topic
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import BASE_MS, CREATED_NS, flipped, make_identity, rotate_times


@pytest.mark.asyncio
async def test_v1_message_sent_before_rotation_decrypts_after(
    wallet: RawKeySigner, other_wallet: RawKeySigner, carol_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    bob_then = await make_identity(other_wallet, 1)
    data = encode_message_v1(
        alice, bob_then.public_key_bundle(), encode_text("before rotation"), timestamp_ms=BASE_MS
    )
    bob_now = rotate_times(bob_then, 2)
    topic = dm_topic(wallet.address, other_wallet.address)
    for reader in (bob_now, rotate_times(alice, 2)):
        message = decode_message_v1(reader, data, topic=topic)
        assert message.content.text() == "before rotation"
        assert message.sender_address == wallet.address
        assert message.sent_ns == BASE_MS * 1_000_000
        assert message.id == sha256(data).hex()
    with pytest.raises(InvalidMessage):
        decode_message_v1(bob_now, data, topic=dm_topic(wallet.address, carol_wallet.address))
    with pytest.raises(InvalidMessage):
        decode_message_v1(await make_identity(carol_wallet), data)
    with pytest.raises(InvalidMessage):
        decode_message_v1(PrivateKeyBundleV1(bob_now.identity_key, bob_now.pre_keys[:1]), data)


@pytest.mark.asyncio
async def test_v2_message_round_trip_and_refusals(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await make_identity(wallet)
    bob = await make_identity(other_wallet, 1)
    sealed, invitation = create_invitation(alice, bob.signed_public_key_bundle(), CREATED_NS)
    shared = open_invitation(bob, sealed.to_bytes()).invitation
    assert shared == invitation
    data = encode_message_v2(
        alice, invitation.topic, invitation.key_material, encode_text("hello v2"), created_ns=7
    )
    message = decode_message_v2(data, shared.topic, shared.key_material)
    assert message.content.text() == "hello v2"
    assert message.sender_address == wallet.address
    assert message.sent_ns == 7
    assert message.id == sha256(data).hex()
    reply = encode_message_v2(bob, shared.topic, shared.key_material, encode_text("hi alice"))
    assert decode_message_v2(reply, invitation.topic, invitation.key_material).sender_address == (
        other_wallet.address
    )
    with pytest.raises(InvalidMessage, match="topic"):
        decode_message_v2(data, invitation.topic + "x", invitation.key_material)
    with pytest.raises(InvalidMessage):
        decode_message_v2(data, invitation.topic, flipped(invitation.key_material))
    with pytest.raises(InvalidMessage):
        decode_message_v2(data, invitation.topic, b"\x00" * 32)
