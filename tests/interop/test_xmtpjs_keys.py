"""Byte-level interop with the real reference SDK (xmtp-js 13.0.4), in both directions."""

from __future__ import annotations

import time

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import ContactBundle, ContactVersion, verify_contact
from app.keyengine.content import encode_text
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.messages import decode_message_v2, encode_message_v2
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.wallets import RawKeySigner
from tests.interop.jsdriver import DriverError, XmtpJs, b64, unb64

pytestmark = pytest.mark.interop

ALICE_KEY = "a1" * 32
BOB_KEY = "b0" * 32


def js_identity(js: XmtpJs, wallet_key: str) -> dict[str, str]:
    return js.call("generate", wallet_key=wallet_key)


async def our_identity(wallet_key: str, rotations: int = 0) -> PrivateKeyBundleV1:
    bundle = await generate_identity(RawKeySigner(bytes.fromhex(wallet_key)))
    for _ in range(rotations):
        bundle = rotate_pre_key(bundle)
    return bundle


# --- made by xmtp-js, read by us -------------------------------------------------------


def test_js_private_bundle_reads_and_verifies(js: XmtpJs) -> None:
    made = js_identity(js, ALICE_KEY)
    raw = unb64(made["private_key_bundle"])
    bundle = PrivateKeyBundleV1.from_bytes(raw)
    bundle.verify()
    assert bundle.to_bytes() == raw
    assert bundle.wallet_address == made["wallet_address"]
    assert bundle.identity_key.public_key.point.hex() == made["identity_key"]
    assert bundle.current_pre_key.public_key.point.hex() == made["prekey"]


def test_js_contacts_verify(js: XmtpJs) -> None:
    made = js_identity(js, ALICE_KEY)
    for field, version in (
        ("contact_bundle_v1", ContactVersion.V1),
        ("contact_bundle_v2", ContactVersion.V2),
    ):
        raw = unb64(made[field])
        contact = ContactBundle.from_bytes(raw)
        assert contact.version is version
        assert contact.to_bytes() == raw
        report = verify_contact(contact, made["wallet_address"])
        assert report.valid, report.errors
        assert contact.pre_key_point is not None and contact.pre_key_point.hex() == made["prekey"]


@pytest.mark.asyncio
async def test_js_encrypted_bundle_decrypts(js: XmtpJs) -> None:
    made = js_identity(js, ALICE_KEY)
    for v in ("27", "01"):  # a normal wallet and a Ledger-style (v = 0/1) signature
        stored = js.call(
            "encrypt_bundle",
            wallet_key=ALICE_KEY,
            private_key_bundle=made["private_key_bundle"],
            signature_v=v,
        )
        encrypted = EncryptedPrivateKeyBundle.from_bytes(unb64(stored["encrypted_bundle"]))
        assert encrypted.signature_request.text == stored["signed_text"]
        bundle = await decrypt_bundle(encrypted, RawKeySigner(bytes.fromhex(ALICE_KEY)))
        assert bundle.to_bytes() == unb64(made["private_key_bundle"])


# --- made by us, read by xmtp-js -------------------------------------------------------


@pytest.mark.asyncio
async def test_our_bundle_loads_in_xmtpjs(js: XmtpJs) -> None:
    bundle = await our_identity(ALICE_KEY, rotations=2)
    loaded = js.call("load_bundle", private_key_bundle=b64(bundle.to_bytes()))
    assert loaded["wallet_address"] == bundle.wallet_address
    assert loaded["validates_public_keys"] is True and loaded["prekey_valid"] is True
    assert loaded["prekeys"] == [k.public_key.point.hex() for k in bundle.pre_keys]
    assert unb64(loaded["public_key_bundle_v1"]) == bundle.public_key_bundle().to_bytes()
    assert (
        unb64(loaded["signed_public_key_bundle_v2"]) == bundle.signed_public_key_bundle().to_bytes()
    )


@pytest.mark.asyncio
async def test_our_encrypted_bundle_decrypts_in_xmtpjs(js: XmtpJs) -> None:
    signer = RawKeySigner(bytes.fromhex(ALICE_KEY))
    bundle = await our_identity(ALICE_KEY, rotations=1)
    encrypted = await encrypt_bundle(bundle, signer)
    opened = js.call(
        "decrypt_bundle", wallet_key=ALICE_KEY, encrypted_bundle=b64(encrypted.to_bytes())
    )
    assert unb64(opened["private_key_bundle"]) == bundle.to_bytes()
    assert opened["wallet_address"] == signer.address
    assert opened["prekeys"] == [k.public_key.point.hex() for k in bundle.pre_keys]
    assert opened["republished"] is False
    # Another wallet cannot open it.
    with pytest.raises(DriverError, match="operation"):
        js.call("decrypt_bundle", wallet_key=BOB_KEY, encrypted_bundle=b64(encrypted.to_bytes()))


@pytest.mark.asyncio
async def test_our_contacts_verify_in_xmtpjs(js: XmtpJs) -> None:
    bundle = await our_identity(ALICE_KEY, rotations=1)
    for contact, kind in (
        (ContactBundle.v1(bundle.public_key_bundle()), "v1"),
        (ContactBundle.v2(bundle.signed_public_key_bundle()), "v2"),
    ):
        seen = js.call("verify_contact", contact_bundle=b64(contact.to_bytes()))
        assert seen["type"] == kind
        assert seen["wallet_address"] == bundle.wallet_address
        assert seen["prekey"] == bundle.current_pre_key.public_key.point.hex()
        assert seen["prekey_valid"] is True


# --- invitations and V2 messages, both ways --------------------------------------------


def _now_ns() -> int:
    return time.time_ns() // 1_000_000 * 1_000_000


@pytest.mark.asyncio
async def test_invitation_from_xmtpjs_opens_here(js: XmtpJs) -> None:
    ours = await our_identity(ALICE_KEY)
    theirs = js_identity(js, BOB_KEY)
    created = _now_ns()
    sealed = js.call(
        "seal_invitation",
        private_key_bundle=theirs["private_key_bundle"],
        recipient_contact_bundle=b64(ContactBundle.v2(ours.signed_public_key_bundle()).to_bytes()),
        conversation_id="interop/1",
        created_ns=str(created),
    )
    opened = open_invitation(
        ours, unb64(sealed["sealed_invitation"]), envelope_timestamp_ns=created
    )
    assert opened.invitation.topic == sealed["topic"]
    assert opened.invitation.key_material.hex() == sealed["key_material"]
    assert opened.invitation.conversation_id == "interop/1"
    assert opened.peer_address == theirs["wallet_address"]
    # The deterministic topic is the same whoever invites.
    _, ours_invite = create_invitation(
        ours,
        ContactBundle.from_bytes(unb64(theirs["contact_bundle_v2"])).signed_public_key_bundle(),
        created,
        conversation_id="interop/1",
    )
    assert ours_invite.topic == sealed["topic"]
    assert ours_invite.key_material.hex() == sealed["key_material"]


@pytest.mark.asyncio
async def test_invitation_from_here_opens_in_xmtpjs(js: XmtpJs) -> None:
    ours = await our_identity(ALICE_KEY, rotations=1)
    theirs = js_identity(js, BOB_KEY)
    recipient = ContactBundle.from_bytes(
        unb64(theirs["contact_bundle_v1"])
    ).signed_public_key_bundle()
    created = _now_ns()
    sealed, invitation = create_invitation(ours, recipient, created, conversation_id="x")
    opened = js.call(
        "open_invitation",
        private_key_bundle=theirs["private_key_bundle"],
        sealed_invitation=b64(sealed.to_bytes()),
        envelope_timestamp_ns=str(created),
    )
    assert opened["topic"] == invitation.topic
    assert opened["key_material"] == invitation.key_material.hex()
    assert opened["peer_address"] == ours.wallet_address
    assert opened["conversation_id"] == "x"


@pytest.mark.asyncio
async def test_v2_messages_both_ways(js: XmtpJs) -> None:
    ours = await our_identity(ALICE_KEY)
    theirs = js_identity(js, BOB_KEY)
    recipient = ContactBundle.from_bytes(
        unb64(theirs["contact_bundle_v2"])
    ).signed_public_key_bundle()
    _, invitation = create_invitation(ours, recipient, _now_ns())
    topic, key = invitation.topic, invitation.key_material

    sent = js.call(
        "encrypt_message_v2",
        private_key_bundle=theirs["private_key_bundle"],
        topic=topic,
        key_material=key.hex(),
        text="hello from xmtp-js",
        created_ns=str(_now_ns()),
    )
    message = decode_message_v2(unb64(sent["message"]), topic, key)
    assert message.content.text() == "hello from xmtp-js"
    assert message.sender_address == theirs["wallet_address"]
    assert message.id == sent["id"]

    for compression in ("deflate", "gzip"):
        packed = js.call(
            "encrypt_message_v2",
            private_key_bundle=theirs["private_key_bundle"],
            topic=topic,
            key_material=key.hex(),
            text="squeezed " * 20,
            created_ns=str(_now_ns()),
            compression=compression,
        )
        assert (
            decode_message_v2(unb64(packed["message"]), topic, key).content.text()
            == "squeezed " * 20
        )

    ours_message = encode_message_v2(ours, topic, key, encode_text("hello from python"))
    read = js.call(
        "decrypt_message_v2", topic=topic, key_material=key.hex(), message=b64(ours_message)
    )
    assert read["text"] == "hello from python"
    assert read["sender_address"] == ours.wallet_address


@pytest.mark.asyncio
async def test_invitation_sealed_before_two_rotations_still_opens(js: XmtpJs) -> None:
    """xmtp-js seals to our pre-key; we rotate twice; the old pre-key (history) still opens it."""
    ours = await our_identity(ALICE_KEY)
    theirs = js_identity(js, BOB_KEY)
    old_pre_key = ours.current_pre_key.public_key.point
    created = _now_ns()
    sealed = js.call(
        "seal_invitation",
        private_key_bundle=theirs["private_key_bundle"],
        recipient_contact_bundle=b64(ContactBundle.v2(ours.signed_public_key_bundle()).to_bytes()),
        created_ns=str(created),
    )
    rotated = rotate_pre_key(rotate_pre_key(ours))
    # Round-trip through storage encryption as the app would, then through xmtp-js's loader.
    signer = RawKeySigner(bytes.fromhex(ALICE_KEY))
    restored = await decrypt_bundle(await encrypt_bundle(rotated, signer), signer)
    assert restored.current_pre_key.public_key.point != old_pre_key
    opened = open_invitation(
        restored, unb64(sealed["sealed_invitation"]), envelope_timestamp_ns=created
    )
    assert opened.pre_key_public == old_pre_key
    assert opened.invitation.topic == sealed["topic"]
    # The reference SDK, given our rotated bundle, also opens it (it searches pre-keys by key).
    seen = js.call(
        "open_invitation",
        private_key_bundle=b64(restored.to_bytes()),
        sealed_invitation=sealed["sealed_invitation"],
        envelope_timestamp_ns=str(created),
    )
    assert seen["key_material"] == opened.invitation.key_material.hex()
    # A new invitation from xmtp-js goes to the new current pre-key and opens too.
    sealed_new = js.call(
        "seal_invitation",
        private_key_bundle=theirs["private_key_bundle"],
        recipient_contact_bundle=b64(
            ContactBundle.v2(restored.signed_public_key_bundle()).to_bytes()
        ),
        created_ns=str(created + 1_000_000),
    )
    opened_new = open_invitation(restored, unb64(sealed_new["sealed_invitation"]))
    assert opened_new.pre_key_public == restored.current_pre_key.public_key.point
