"""Deterministic tests of the engine behaviour that matters.

Generation and attestation, what the wallet is asked to sign, pre-key rotation history, the
encrypted private store, invitations and messages across rotations, auth tokens, secp256k1
strictness, compressed content limits, and private material kept out of ``repr``.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import itertools
import tracemalloc
import zlib

import pytest

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.authn import (
    MAX_TOKEN_AGE_NS,
    create_auth_token,
    validate_auth_token,
)
from app.keyengine.bundles import PrivateKeyBundleV1, PrivateKeyBundleV2
from app.keyengine.contact import ContactBundle, verify_contact
from app.keyengine.content import decode_content, encode_text
from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.hashes import keccak256, sha256
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, open_bundle, seal_bundle
from app.keyengine.errors import (
    BadSignature,
    DecryptionFailed,
    InvalidInvitation,
    InvalidKey,
    InvalidMessage,
    InvalidSignature,
    InvalidToken,
    NoMatchingPreKey,
    TokenExpired,
    UnsupportedText,
    WrongWallet,
)
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.keys import PrivateKey, PublicKey, Signature, SignedPrivateKey
from app.keyengine.messages import (
    decode_message_v1,
    decode_message_v2,
    encode_message_v1,
    encode_message_v2,
)
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import authn_pb2, content_pb2, private_key_pb2
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.texts import (
    SignaturePurpose,
    SignatureRequest,
    consent_proof_text,
    create_identity_text,
    enable_identity_text,
)
from app.keyengine.topics import dm_topic
from app.keyengine.wallets import RawKeySigner

BASE_MS = 1_700_000_000_000
CREATED_NS = 1_700_000_000_000_000_000
N = secp256k1.CURVE_ORDER
WALLET_PRE_KEY = b"\x42" * 32
Observed = list[tuple[SignatureRequest, str]]


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


@pytest.fixture
def carol_wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("33" * 32))


async def _identity(signer: RawKeySigner, offset: int = 0) -> PrivateKeyBundleV1:
    return await generate_identity(signer, timestamp_ms=BASE_MS + offset)


def _flip(data: bytes, index: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def _rotate(bundle: PrivateKeyBundleV1, times: int) -> PrivateKeyBundleV1:
    for step in range(times):
        bundle = rotate_pre_key(bundle, timestamp_ms=BASE_MS + 10_000 * (step + 1))
    return bundle


# --- generation, signature requests, rotation --------------------------------------------------


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
    bundles = [await _identity(wallet)]
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
    bundle = rotate_pre_key(await _identity(wallet), timestamp_ms=BASE_MS + 5_000)
    assert bundle.current_pre_key.timestamp_ms == BASE_MS + 5_000


# --- the encrypted private store --------------------------------------------------------------


@pytest.mark.asyncio
async def test_encrypted_bundle_round_trip(wallet: RawKeySigner) -> None:
    bundle = _rotate(await _identity(wallet), 3)
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
    encrypted = await encrypt_bundle(await _identity(wallet), wallet)
    with pytest.raises(DecryptionFailed) as caught:
        await decrypt_bundle(encrypted, other_wallet)
    assert type(caught.value) is DecryptionFailed


@pytest.mark.asyncio
async def test_signer_signing_with_another_key_is_wrong_wallet(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    impostor = WrongKeySigner(wallet.address, other_wallet)
    with pytest.raises(WrongWallet):
        await generate_identity(impostor)
    bundle = await _identity(wallet)
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
    bundle = await _identity(wallet)
    with pytest.raises(InvalidSignature):
        await encrypt_bundle(bundle, signer)
    encrypted = await encrypt_bundle(bundle, wallet)
    with pytest.raises(InvalidSignature):
        await decrypt_bundle(encrypted, signer)


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


@pytest.mark.parametrize("field", ["payload", "hkdf_salt", "gcm_nonce"])
@pytest.mark.asyncio
async def test_tampered_stored_bundle_fails_to_decrypt(wallet: RawKeySigner, field: str) -> None:
    bundle = await _identity(wallet)
    signature = wallet.sign_personal_sync(enable_identity_text(WALLET_PRE_KEY))
    encrypted = seal_bundle(bundle, signature, WALLET_PRE_KEY)
    ciphertext = encrypted.ciphertext
    tampered_ciphertext = dataclasses.replace(
        ciphertext, **{field: _flip(getattr(ciphertext, field), 5)}
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
    bundle = await _identity(wallet)
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


# --- invitations and messages across rotations --------------------------------------------------


@pytest.mark.asyncio
async def test_invitation_sealed_before_two_rotations_still_opens(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob_then = await _identity(other_wallet, 1)
    sealed, invitation = create_invitation(alice, bob_then.signed_public_key_bundle(), CREATED_NS)
    bob_now = _rotate(bob_then, 2)
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
    alice_now = _rotate(alice, 2)
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
async def test_v1_message_sent_before_rotation_decrypts_after(
    wallet: RawKeySigner, other_wallet: RawKeySigner, carol_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob_then = await _identity(other_wallet, 1)
    data = encode_message_v1(
        alice, bob_then.public_key_bundle(), encode_text("before rotation"), timestamp_ms=BASE_MS
    )
    bob_now = _rotate(bob_then, 2)
    topic = dm_topic(wallet.address, other_wallet.address)
    for reader in (bob_now, _rotate(alice, 2)):
        message = decode_message_v1(reader, data, topic=topic)
        assert message.content.text() == "before rotation"
        assert message.sender_address == wallet.address
        assert message.sent_ns == BASE_MS * 1_000_000
        assert message.id == sha256(data).hex()
    with pytest.raises(InvalidMessage):
        decode_message_v1(bob_now, data, topic=dm_topic(wallet.address, carol_wallet.address))
    with pytest.raises(InvalidMessage):
        decode_message_v1(await _identity(carol_wallet), data)
    with pytest.raises(InvalidMessage):
        decode_message_v1(PrivateKeyBundleV1(bob_now.identity_key, bob_now.pre_keys[:1]), data)


@pytest.mark.asyncio
async def test_v2_message_round_trip_and_refusals(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob = await _identity(other_wallet, 1)
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
        decode_message_v2(data, invitation.topic, _flip(invitation.key_material))
    with pytest.raises(InvalidMessage):
        decode_message_v2(data, invitation.topic, b"\x00" * 32)


@pytest.mark.asyncio
async def test_invitation_envelope_timestamp_mismatch(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob = await _identity(other_wallet, 1)
    sealed, _ = create_invitation(alice, bob.signed_public_key_bundle(), CREATED_NS)
    for wrong in (CREATED_NS + 1, CREATED_NS - 1_000_000, 0):
        with pytest.raises(InvalidInvitation, match="timestamp"):
            open_invitation(bob, sealed.to_bytes(), envelope_timestamp_ns=wrong)
    assert open_invitation(bob, sealed, envelope_timestamp_ns=CREATED_NS).created_ns == CREATED_NS


@pytest.mark.asyncio
async def test_invitation_not_addressed_to_us(
    wallet: RawKeySigner, other_wallet: RawKeySigner, carol_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob = await _identity(other_wallet, 1)
    carol = await _identity(carol_wallet, 2)
    sealed, _ = create_invitation(alice, bob.signed_public_key_bundle(), CREATED_NS)
    with pytest.raises(InvalidInvitation, match="not addressed"):
        open_invitation(carol, sealed.to_bytes())


@pytest.mark.asyncio
async def test_contact_verification_reports_wallet_mismatch(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
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


# --- auth tokens -------------------------------------------------------------------------------


def _token(
    bundle: PrivateKeyBundleV1,
    *,
    wallet_addr: str,
    created_ns: int = CREATED_NS,
    signing_key: PrivateKey | None = None,
    high_s: bool = False,
    by_wallet: bool = False,
) -> str:
    """A token built by hand, so that each field can be made wrong on its own."""
    auth_bytes = authn_pb2.AuthData(wallet_addr=wallet_addr, created_ns=created_ns)
    auth_data = auth_bytes.SerializeToString()
    key = bundle.identity_key if signing_key is None else signing_key
    raw, recovery = secp256k1.sign_digest(key.secret, keccak256(auth_data))
    if high_s:
        s = int.from_bytes(raw[32:], "big")
        raw, recovery = raw[:32] + (N - s).to_bytes(32, "big"), recovery ^ 1
    token = authn_pb2.Token(auth_data_bytes=auth_data)
    token.identity_key.CopyFrom(bundle.identity_key.public_key.to_proto())
    token.auth_data_signature.CopyFrom(Signature(raw, recovery, by_wallet).to_proto())
    return base64.b64encode(token.SerializeToString()).decode("ascii")


@pytest.mark.asyncio
async def test_auth_token_validates_to_its_wallet(wallet: RawKeySigner) -> None:
    bundle = await _identity(wallet)
    token = create_auth_token(bundle, created_ns=CREATED_NS)
    validated = validate_auth_token(token, now_ns=CREATED_NS + 1)
    assert validated.wallet_address == wallet.address
    assert validated.created_ns == CREATED_NS
    assert validated.identity_key == bundle.identity_key.public_key
    assert validate_auth_token(token, now_ns=CREATED_NS + MAX_TOKEN_AGE_NS).created_ns == (
        CREATED_NS
    )
    # The hand-built token with nothing wrong validates too, so the refusals below are fair.
    assert validate_auth_token(_token(bundle, wallet_addr=wallet.address), now_ns=CREATED_NS)


@pytest.mark.asyncio
async def test_expired_auth_token(wallet: RawKeySigner) -> None:
    token = create_auth_token(await _identity(wallet), created_ns=CREATED_NS)
    with pytest.raises(TokenExpired):
        validate_auth_token(token, now_ns=CREATED_NS + MAX_TOKEN_AGE_NS + 1)
    with pytest.raises(TokenExpired):
        validate_auth_token(token, now_ns=CREATED_NS - 3600 * 10**9)


@pytest.mark.asyncio
async def test_auth_token_refusals(wallet: RawKeySigner, other_wallet: RawKeySigner) -> None:
    bundle = await _identity(wallet)
    other = await _identity(other_wallet, 1)
    bad_tokens = {
        "lowercased wallet": _token(bundle, wallet_addr=wallet.address.lower()),
        "another wallet": _token(bundle, wallet_addr=other_wallet.address),
        "another identity key": _token(
            bundle, wallet_addr=wallet.address, signing_key=other.identity_key
        ),
        "signed by the pre-key": _token(
            bundle, wallet_addr=wallet.address, signing_key=bundle.current_pre_key
        ),
        "high-S": _token(bundle, wallet_addr=wallet.address, high_s=True),
        "wallet signature case": _token(bundle, wallet_addr=wallet.address, by_wallet=True),
        "not base64": "not base64!",
        "empty": "",
    }
    for reason, token in bad_tokens.items():
        with pytest.raises(InvalidToken) as caught:
            validate_auth_token(token, now_ns=CREATED_NS)
        assert not isinstance(caught.value, TokenExpired), reason


# --- secp256k1 strictness ----------------------------------------------------------------------


def test_high_s_signature_is_rejected() -> None:
    secret = b"\x05" * 32
    public = secp256k1.public_key_of(secret)
    digest = sha256(b"high-S")
    raw, recovery = secp256k1.sign_digest(secret, digest)
    assert secp256k1.is_low_s(raw) and secp256k1.verify_digest(public, digest, raw)
    s = int.from_bytes(raw[32:], "big")
    high = raw[:32] + (N - s).to_bytes(32, "big")
    assert not secp256k1.is_low_s(high)
    assert not secp256k1.verify_digest(public, digest, high)
    # The same signature in the other form: only its S half is wrong.
    assert secp256k1.recover_public_key(digest, high, recovery ^ 1) == public
    assert secp256k1.normalize_s(high, recovery ^ 1) == (raw, recovery)


def test_recovery_ids_other_than_0_and_1_are_rejected() -> None:
    secret = b"\x05" * 32
    digest = sha256(b"recovery")
    raw, _ = secp256k1.sign_digest(secret, digest)
    for recovery in (2, 3, 27, -1):
        with pytest.raises(InvalidSignature):
            secp256k1.recover_public_key(digest, raw, recovery)
        with pytest.raises(InvalidSignature):
            Signature(raw, recovery)
    for v in (2, 3, 29, 30, 255):
        with pytest.raises(InvalidSignature):
            Signature.from_wallet_bytes(raw + bytes([v]), by_wallet=False)


def _bad_points() -> dict[str, bytes]:
    point = secp256k1.public_key_of(b"\x05" * 32)
    return {
        "prefix-02": b"\x02" + point[1:],
        "prefix-03": b"\x03" + point[1:],
        "prefix-05": b"\x05" + point[1:],
        "prefix-06": b"\x06" + point[1:],
        "not-on-curve": point[:-1] + bytes([point[-1] ^ 0x01]),
        "x-not-on-curve": b"\x04" + b"\x00" * 31 + b"\x05" + point[33:],
        "64-bytes": point[1:],
        "compressed": bytes([2 + point[-1] % 2]) + point[1:33],
        "66-bytes": point + b"\x00",
        "empty": b"",
        "all-zero": b"\x04" + b"\x00" * 64,
    }


@pytest.mark.parametrize("name", sorted(_bad_points()))
def test_invalid_points_are_invalid_key(name: str) -> None:
    bad = _bad_points()[name]
    with pytest.raises(InvalidKey):
        secp256k1.validate_public_key(bad)
    with pytest.raises(InvalidKey):
        PublicKey(BASE_MS, bad)
    if name not in ("prefix-06", "compressed"):  # hazmat ecdh parses every SEC1 encoding
        with pytest.raises(InvalidKey):
            secp256k1.ecdh(b"\x07" * 32, bad)
    assert not secp256k1.verify_digest(bad, b"\x00" * 32, b"\x01" * 64)


@pytest.mark.parametrize(
    "scalar",
    [0, N, N + 1, 2**256 - 1],
    ids=["zero", "n", "n+1", "max"],
)
def test_out_of_range_private_keys_are_invalid_key(scalar: int) -> None:
    secret = scalar.to_bytes(32, "big")
    public = secp256k1.public_key_of(b"\x05" * 32)
    with pytest.raises(InvalidKey):
        secp256k1.validate_private_key(secret)
    with pytest.raises(InvalidKey):
        secp256k1.public_key_of(secret)
    with pytest.raises(InvalidKey):
        secp256k1.sign_digest(secret, b"\x00" * 32)
    with pytest.raises(InvalidKey):
        secp256k1.ecdh(secret, public)
    with pytest.raises(InvalidKey):
        PrivateKey(BASE_MS, secret, PublicKey(BASE_MS, public))
    with pytest.raises(InvalidKey):
        RawKeySigner(secret)


def test_private_key_length_and_top_of_range() -> None:
    for secret in (b"", b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(InvalidKey):
            secp256k1.validate_private_key(secret)
    secp256k1.validate_private_key((N - 1).to_bytes(32, "big"))
    secp256k1.validate_private_key((1).to_bytes(32, "big"))


@pytest.mark.asyncio
async def test_stored_bundle_with_out_of_range_scalar_is_invalid_key(
    wallet: RawKeySigner,
) -> None:
    bundle = await _identity(wallet)
    msg = private_key_pb2.PrivateKeyBundle.FromString(bundle.to_bytes())
    msg.v1.identity_key.secp256k1.bytes = N.to_bytes(32, "big")
    with pytest.raises(InvalidKey):
        PrivateKeyBundleV1.from_bytes(msg.SerializeToString())
    msg.v1.identity_key.secp256k1.bytes = bundle.identity_key.secret
    msg.v1.pre_keys[0].secp256k1.bytes = b"\x00" * 32
    with pytest.raises(InvalidKey):
        PrivateKeyBundleV1.from_bytes(msg.SerializeToString())
    # A bundle whose private key does not match its public key parses but does not verify.
    msg.v1.pre_keys[0].secp256k1.bytes = b"\x09" * 32
    with pytest.raises(InvalidKey):
        PrivateKeyBundleV1.from_bytes(msg.SerializeToString()).verify()


@pytest.mark.asyncio
async def test_pre_key_signed_by_another_identity_fails_verification(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = await _identity(wallet)
    bob = await _identity(other_wallet, 1)
    spoofed = PrivateKeyBundleV1(alice.identity_key, bob.pre_keys)
    with pytest.raises(BadSignature):
        spoofed.verify()
    report = verify_contact(ContactBundle.v1(spoofed.public_key_bundle()))
    assert not report.valid and any("pre-key" in error for error in report.errors)


# --- compressed content ------------------------------------------------------------------------

MAX_INFLATED = 10 * 1024 * 1024


def _compressed(content: bytes, compression: int, encoding: str = "UTF-8") -> bytes:
    msg = content_pb2.EncodedContent(content=content)
    msg.type.authority_id = "xmtp.org"
    msg.type.type_id = "text"
    msg.type.version_major = 1
    msg.parameters["encoding"] = encoding
    msg.compression = compression  # type: ignore[assignment]
    return msg.SerializeToString()


def test_content_inflating_past_the_limit_is_refused() -> None:
    text = b"a" * (MAX_INFLATED + 1)
    for compression, packed in (
        (content_pb2.COMPRESSION_GZIP, gzip.compress(text, mtime=0)),
        (content_pb2.COMPRESSION_DEFLATE, zlib.compress(text)),
    ):
        with pytest.raises(InvalidMessage, match="too large"):
            decode_content(_compressed(packed, compression))


def test_truncated_compressed_content_is_refused() -> None:
    text = ("hello " * 200).encode()
    for compression, packed in (
        (content_pb2.COMPRESSION_GZIP, gzip.compress(text, mtime=0)),
        (content_pb2.COMPRESSION_DEFLATE, zlib.compress(text)),
    ):
        with pytest.raises(InvalidMessage):
            decode_content(_compressed(packed[: len(packed) // 2], compression))


def test_gzip_bomb_is_refused_without_inflating_it_whole() -> None:
    bomb = gzip.compress(b"\x00" * (32 * 1024 * 1024), mtime=0)  # 32 MiB in ~32 KiB
    data = _compressed(bomb, content_pb2.COMPRESSION_GZIP)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidMessage):
            decode_content(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_INFLATED, f"inflating peaked at {peak >> 20} MiB"


@pytest.mark.parametrize(
    ("encoding", "content"),
    [("idna", b"xn--"), ("idna", b"xn--99999999999"), ("punycode", b"\x00 "), ("nope", b"x")],
)
def test_text_in_an_odd_declared_encoding_fails_as_invalid_message(
    encoding: str, content: bytes
) -> None:
    msg = content_pb2.EncodedContent(content=content)
    msg.type.authority_id = "xmtp.org"
    msg.type.type_id = "text"
    msg.parameters["encoding"] = encoding
    decoded = decode_content(msg.SerializeToString())
    with pytest.raises(InvalidMessage):
        decoded.text()


# --- private material stays out of repr --------------------------------------------------------


def _forms(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        secret.hex().upper(),
        repr(secret)[2:-1],
        base64.b64encode(secret).decode(),
    ]


@pytest.mark.asyncio
async def test_repr_never_shows_private_material(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = _rotate(await _identity(wallet), 2)
    bob = await _identity(other_wallet, 1)
    sealed, invitation = create_invitation(
        alice, bob.signed_public_key_bundle(), CREATED_NS, conversation_id="c", metadata={"a": "b"}
    )
    opened = open_invitation(bob, sealed.to_bytes())
    v2 = PrivateKeyBundleV2.from_legacy(alice)
    secrets = [b"\x11" * 32, b"\x22" * 32, invitation.key_material]
    secrets += [key.secret for key in (alice.identity_key, *alice.pre_keys)]
    secrets += [key.secret for key in (bob.identity_key, *bob.pre_keys)]
    shown: list[object] = [
        alice.identity_key,
        alice.current_pre_key,
        SignedPrivateKey.from_legacy(alice.identity_key, signed_by_wallet=True),
        alice,
        bob,
        v2,
        v2.identity_key,
        wallet,
        other_wallet,
        opened,
        opened.invitation,
        invitation,
    ]
    for value in shown:
        for text in (repr(value), str(value)):
            for secret in secrets:
                for form in _forms(secret):
                    assert form not in text, f"{type(value).__name__} repr shows secret material"
    assert "key_material" not in repr(invitation)
    assert "secret" not in repr(alice.identity_key)
