"""Every fixture of tests/vectors/xmtp-vectors.json, one parametrised test each.

A vector without a checker here fails the suite, so new fixtures cannot be silently skipped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.authn import validate_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1, PublicKeyBundle, SignedPublicKeyBundle
from app.keyengine.contact import ContactBundle, ContactVersion, verify_contact
from app.keyengine.content import decode_content
from app.keyengine.crypto import aead, secp256k1
from app.keyengine.crypto.ethereum import address_of_public_key
from app.keyengine.crypto.hashes import eip191_digest, keccak256, sha256
from app.keyengine.dh import three_dh
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, open_bundle
from app.keyengine.errors import InvalidMessage
from app.keyengine.invitations import create_invitation, derive_conversation, open_invitation
from app.keyengine.keys import PrivateKey, PublicKey, Signature, SignedPublicKey
from app.keyengine.messages import decode_message_v2
from app.keyengine.proto import ciphertext_pb2, private_key_pb2
from app.keyengine.texts import consent_proof_text, create_identity_text, enable_identity_text
from tests.support.vectors import load_vectors

Vector = dict[str, Any]
h = bytes.fromhex


def _bundle_facts(bundle: PrivateKeyBundleV1, facts: Vector) -> None:
    """Compare a decoded bundle against the per-bundle facts the vectors record."""
    identity = bundle.identity_key
    assert bundle.wallet_address == facts["wallet"]
    assert identity.secret.hex() == facts["identity_priv"]
    assert identity.public_key.point.hex() == facts["identity_pub"]
    assert str(identity.public_key.timestamp_ms) == facts["identity_ts_ms"]
    assert identity.public_key.bytes_to_sign().hex() == facts["identity_bytes_to_sign"]
    assert identity.public_key.address == facts["identity_eth_address_of_identity_key"]
    assert len(bundle.pre_keys) == facts["n_prekeys"]
    pre_key = bundle.current_pre_key
    assert pre_key.secret.hex() == facts["prekey_priv"]
    assert pre_key.public_key.point.hex() == facts["prekey_pub"]
    assert pre_key.public_key.bytes_to_sign().hex() == facts["prekey_bytes_to_sign"]
    assert pre_key.public_key.is_signed_by(identity.public_key.point) is facts["prekey_sig_valid"]
    bundle.verify()
    assert bundle.public_key_bundle().to_bytes().hex() == facts["public_key_bundle_v1"]
    assert (
        bundle.signed_public_key_bundle().to_bytes().hex() == facts["signed_public_key_bundle_v2"]
    )
    assert (
        ContactBundle.v1(bundle.public_key_bundle()).to_bytes().hex() == facts["contact_bundle_v1"]
    )
    assert (
        ContactBundle.v2(bundle.signed_public_key_bundle()).to_bytes().hex()
        == facts["contact_bundle_v2"]
    )
    v2_contact = ContactBundle.from_bytes(h(facts["contact_bundle_v2"]))
    assert v2_contact.wallet_address == facts["v2_wallet"]


def check_js_create_identity_text(v: Vector) -> None:
    msg = private_key_pb2.PrivateKey.FromString(h(v["data"]["private_key_proto_hex"]))
    key = PrivateKey.from_proto(msg)
    assert create_identity_text(key.public_key.bytes_to_sign()) == v["data"]["expected_text"]
    assert key.secret.hex() == v["verified_here"]["private_key"]
    assert key.matches_public_key()


def check_js_pubkey_to_address(v: Vector) -> None:
    assert address_of_public_key(h(v["data"]["public_key_hex"])) == v["data"]["expected_address"]


def check_js_enable_identity_text(v: Vector) -> None:
    assert enable_identity_text(h(v["data"]["wallet_pre_key_hex"])) == v["data"]["expected_text"]


def check_deterministic_invite_topic(v: Vector) -> None:
    data, facts = v["data"], v["verified_here"]
    alice = PrivateKeyBundleV1.from_bytes(h(data["alice_private_key_bundle_hex"]))
    bob = PrivateKeyBundleV1.from_bytes(h(data["bob_private_key_bundle_hex"]))
    assert alice.to_bytes().hex() == data["alice_private_key_bundle_hex"]
    assert bob.to_bytes().hex() == data["bob_private_key_bundle_hex"]
    assert alice.wallet_address == data["expected_alice_address"]
    assert bob.wallet_address == data["expected_bob_address"]
    _bundle_facts(alice, facts["alice"])
    _bundle_facts(bob, facts["bob"])
    for case, conversation_id in (
        ("invite_conversation_id_test", "test"),
        ("invite_without_context", ""),
    ):
        expected = facts[case]
        created = int(expected["sealed_header_created"])
        sealed, invitation = create_invitation(
            alice, bob.signed_public_key_bundle(), created, conversation_id=conversation_id
        )
        _, from_bob = create_invitation(
            bob, alice.signed_public_key_bundle(), created, conversation_id=conversation_id
        )
        assert invitation.topic == expected["topic"] == from_bob.topic
        assert invitation.key_material.hex() == expected["key_material"]
        assert from_bob.key_material == invitation.key_material
        secret = three_dh(
            alice.identity_key,
            alice.current_pre_key,
            bob.identity_key.public_key,
            bob.current_pre_key.public_key,
            is_recipient=expected["alice_lt_bob"],
        )
        assert secret.hex() == expected["secret"]
        assert derive_conversation(
            secret, alice.wallet_address, bob.wallet_address, conversation_id
        ) == (
            expected["topic"],
            h(expected["key_material"]),
        )
        opened = open_invitation(bob, sealed.to_bytes(), envelope_timestamp_ns=created)
        assert opened.invitation == invitation
        assert opened.peer_address == expected["alice"]
    assert data["expected_topic"] == facts["invite_conversation_id_test"]["topic"]


def check_contact_bundle_v2(v: Vector) -> None:
    contact = ContactBundle.from_bytes(h(v["data"]["envelope_message_hex"]))
    assert contact.version is ContactVersion.V2
    assert contact.wallet_address == v["data"]["expected_wallet_address"]
    assert isinstance(contact.key_bundle, SignedPublicKeyBundle)
    identity = contact.key_bundle.identity_key
    assert identity.address == v["verified_here"]["identity_key_address"]
    assert identity.key_bytes.hex() == v["verified_here"]["identity_key_bytes"]
    assert str(identity.created_ns) == v["verified_here"]["identity_created_ns"]
    assert identity.is_from_legacy
    assert verify_contact(contact, v["data"]["expected_wallet_address"]).valid
    assert contact.to_bytes().hex() == v["data"]["envelope_message_hex"]


def check_contact_bundle_raw_publickeybundle(v: Vector) -> None:
    contact = ContactBundle.from_bytes(h(v["data"]["envelope_message_hex"]))
    assert contact.version is ContactVersion.LEGACY
    assert contact.wallet_address == v["data"]["expected_wallet_address"]
    assert contact.key_bundle.identity_key.address == v["data"]["expected_identity_key_address"]
    assert contact.pre_key_point is None
    report = verify_contact(contact)
    assert not report.valid and report.wallet_address == v["data"]["expected_wallet_address"]


def _aead_from(d: Vector) -> aead.AeadCiphertext:
    return aead.AeadCiphertext(h(d["hkdf_salt_hex"]), h(d["gcm_nonce_hex"]), h(d["payload_hex"]))


def check_ciphertext_known_small(v: Vector) -> None:
    part = ciphertext_pb2.Ciphertext.FromString(h(v["data"]["ciphertext_proto_hex"]))
    c = part.aes256_gcm_hkdf_sha256
    value = aead.AeadCiphertext(c.hkdf_salt, c.gcm_nonce, c.payload)
    assert (
        aead.decrypt(value, h(v["data"]["secret_hex"])).hex() == v["data"]["expected_plaintext_hex"]
    )
    again = aead.encrypt(
        b"\x05\x05\x05", h(v["data"]["secret_hex"]), salt=c.hkdf_salt, nonce=c.gcm_nonce
    )
    assert again == value


def check_ciphertext_v1_message_aad(v: Vector) -> None:
    d = v["data"]
    plaintext = aead.decrypt(_aead_from(d), h(d["secret_hex"]), h(d["additional_data_hex"]))
    assert plaintext.hex() == d["expected_plaintext_hex"]
    assert decode_content(plaintext).text() == "hi"


def check_message_v2_id_and_decrypt(v: Vector) -> None:
    d = v["data"]
    key_material = base64.b64decode(d["key_material_base64"])
    assert json.loads(d["conversation_export_json"])["topic"] == d["content_topic"]
    message = decode_message_v2(h(d["envelope_message_hex"]), d["content_topic"], key_material)
    assert message.id == d["expected_id"]
    assert message.content.text() == "updog"
    client = PrivateKeyBundleV1.from_bytes(h(d["client_private_key_bundle_hex"]))
    client.verify()
    wallet_key = h(d["client_wallet_private_key_hex"])
    assert client.wallet_address == address_of_public_key(secp256k1.public_key_of(wallet_key))


def check_shared_secret_3dh_js(v: Vector) -> None:
    d = v["data"]
    me = PrivateKeyBundleV1.from_bytes(h(d["my_private_key_bundle_hex"]))
    peer = PublicKeyBundle.from_bytes(h(d["peer_public_key_bundle_hex"]))
    assert peer.pre_key is not None
    secret = three_dh(
        me.identity_key,
        me.current_pre_key,
        peer.identity_key,
        peer.pre_key,
        is_recipient=d["is_recipient"],
    )
    assert secret.hex() == d["expected_secret_hex"]
    assert me.wallet_address == v["verified_here"]["me_wallet"]
    assert peer.wallet_address == v["verified_here"]["you_wallet"]


def check_spoofed_prekey_rejected(v: Vector) -> None:
    d = v["data"]
    with pytest.raises(InvalidMessage, match="pre-key not signed by identity key"):
        decode_message_v2(
            base64.b64decode(d["envelope_message_base64"]),
            d["content_topic"],
            base64.b64decode(d["key_material_base64"]),
        )


def check_js_private_key_bundle_mobile_load(v: Vector) -> None:
    raw = h(v["data"]["private_key_bundle_hex"])
    bundle = PrivateKeyBundleV1.from_bytes(raw)
    assert bundle.to_bytes() == raw
    _bundle_facts(bundle, v["verified_here"])
    assert PrivateKeyBundleV1.from_bytes(bundle.to_unwrapped_bytes()) == bundle


def check_network_fixture_wallet_keys(v: Vector) -> None:
    expected = set(v["verified_here"]["addresses"].values())
    derived = {
        address_of_public_key(secp256k1.public_key_of(h(entry["private_key_hex"])))
        for entry in v["data"].values()
    }
    assert len(derived) == len(v["data"]) and derived <= expected


def check_hkdf_sha256_js(v: Vector) -> None:
    for case in v["data"]["cases"]:
        key = aead.hkdf_sha256(h(case["secret_hex"]), h(case["salt_hex"]))
        assert key.hex() == case["expected_key_hex"]
    neg = v["data"]["negative"]
    assert (
        aead.hkdf_sha256(h(neg["secret_hex"]), h(neg["salt_hex"])).hex()
        != neg["not_expected_key_hex"]
    )


def check_encrypted_bundle_ciphertext(v: Vector) -> None:
    d = v["data"]
    encrypted = EncryptedPrivateKeyBundle(b"\x00" * 32, _aead_from(d))
    secret = h(d["secret_hex"])
    bundle = open_bundle(encrypted, secret)
    assert bundle.to_bytes().hex() == d["expected_plaintext_hex"]
    _bundle_facts(bundle, v["verified_here"]["plaintext_bundle"])
    # xmtp-js retries with v toggled by 27: a Ledger-style v=1 secret opens it too.
    assert open_bundle(encrypted, secret[:64] + bytes([secret[64] - 27])) == bundle


def check_secp256k1_pubkeys_ios(v: Vector) -> None:
    d = v["data"]
    assert (
        secp256k1.public_key_of(h(d["identity_private_key_hex"])).hex()
        == d["identity_public_key_hex"]
    )
    assert (
        secp256k1.public_key_of(h(d["prekey_private_key_hex"])).hex() == d["prekey_public_key_hex"]
    )


def check_recover_sha256(v: Vector) -> None:
    d = v["data"]
    sig = h(d["signature_65_hex"])
    digest = sha256(h(d["message_hex"]))
    assert (
        secp256k1.recover_public_key(digest, sig[:64], sig[64]).hex()
        == d["expected_public_key_hex"]
    )
    assert secp256k1.verify_digest(h(d["expected_public_key_hex"]), digest, sig[:64])


def check_recover_create_identity_v2_key(v: Vector) -> None:
    d = v["data"]
    text = h(d["text_hex"])
    sig = h(d["signature_65_hex"])
    recovered = secp256k1.recover_public_key(eip191_digest(text), sig[:64], sig[64] % 27)
    assert recovered.hex() == d["expected_wallet_public_key_hex"]
    key_bytes = h(text.decode().split("\n")[1])
    key = SignedPublicKey(key_bytes, Signature.from_wallet_bytes(sig, by_wallet=True))
    assert not key.is_from_legacy
    assert str(key.created_ns) == v["verified_here"]["key_created_ns"]
    assert recover_wallet_address(key) == d["expected_wallet_address"]


def check_eip191_testvector1(v: Vector) -> None:
    d = v["data"]
    sig = Signature.from_wallet_bytes(h(d["sig"]), by_wallet=False)
    recovered = address_of_public_key(sig.recover(eip191_digest(d["msg"].encode())))
    assert recovered.lower() == d["addr"].lower()


def check_auth_token_xmtpjs_1(v: Vector) -> None:
    d = v["data"]
    created = int(d["created_ns"])
    token = validate_auth_token(d["token_base64"], now_ns=created + 600 * 10**9)
    assert token.wallet_address == d["expected_wallet"]
    assert token.identity_key.point.hex() == v["verified_here"]["identity_pub"]


def check_auth_token_xmtpjs_2(v: Vector) -> None:
    facts = v["verified_here"]
    token = validate_auth_token(v["data"]["token_base64"], now_ns=int(facts["authdata_created_ns"]))
    assert token.wallet_address == facts["wallet_recovered"] == facts["authdata_wallet"]


def check_wallet_verify_create_identity(v: Vector) -> None:
    d = v["data"]
    sig = Signature(h(d["signature_64_hex"]), d["recovery"])
    assert (
        address_of_public_key(sig.recover(eip191_digest(h(d["message_hex"]))))
        == d["expected_address"]
    )


def check_keypair_static(v: Vector) -> None:
    d = v["data"]
    private = h(d["private_key_hex"])
    assert secp256k1.public_key_of(private).hex() == d["public_key_hex"]
    digest = keccak256(b"XMTP keypair round trip")
    raw, recovery = secp256k1.sign_digest(private, digest)
    assert secp256k1.verify_digest(h(d["public_key_hex"]), digest, raw)
    assert secp256k1.recover_public_key(digest, raw, recovery).hex() == d["public_key_hex"]


def _fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields of a protobuf message (enough for ClientAuthRequest)."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        tag, i = _varint(data, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = _varint(data, i)
        else:
            assert wire == 2
            length, i = _varint(data, i)
            out[number] = data[i : i + length]
            i += length
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def check_libp2p_client_auth_requests(v: Vector) -> None:
    from app.keyengine.proto import authn_pb2, signature_pb2

    for request, facts in zip(v["data"]["requests"], v["verified_here"]["decoded"], strict=True):
        body = _fields(_fields(h(request["reqBytes"]))[1])
        key = SignedPublicKey(
            body[1], Signature.from_proto(signature_pb2.Signature.FromString(body[2]))
        )
        assert key.key_bytes.hex() == facts["identity_key_bytes"]
        assert recover_wallet_address(key).lower() == request["walletAddr"].lower()
        legacy = key.to_legacy()
        auth_sig = Signature.from_proto(signature_pb2.Signature.FromString(body[4]))
        assert secp256k1.verify_digest(legacy.point, keccak256(body[3]), auth_sig.raw)
        assert authn_pb2.AuthData.FromString(body[3]).wallet_addr == facts["authdata_wallet"]


def check_consent_proof_text(v: Vector) -> None:
    d = v["data"]
    assert consent_proof_text(d["peer_address"], d["timestamp_ms"]) == d["expected_text"]


CHECKS: dict[str, Callable[[Vector], None]] = {
    "js-create-identity-text": check_js_create_identity_text,
    "js-pubkey-to-address": check_js_pubkey_to_address,
    "js-enable-identity-text": check_js_enable_identity_text,
    "deterministic-invite-topic": check_deterministic_invite_topic,
    "contact-bundle-v2": check_contact_bundle_v2,
    "contact-bundle-raw-publickeybundle": check_contact_bundle_raw_publickeybundle,
    "ciphertext-known-small": check_ciphertext_known_small,
    "ciphertext-v1-message-aad": check_ciphertext_v1_message_aad,
    "message-v2-id-and-decrypt": check_message_v2_id_and_decrypt,
    "shared-secret-3dh-js": check_shared_secret_3dh_js,
    "spoofed-prekey-rejected": check_spoofed_prekey_rejected,
    "js-private-key-bundle-mobile-load": check_js_private_key_bundle_mobile_load,
    "network-fixture-wallet-keys": check_network_fixture_wallet_keys,
    "hkdf-sha256-js": check_hkdf_sha256_js,
    "encrypted-bundle-ciphertext": check_encrypted_bundle_ciphertext,
    "secp256k1-pubkeys-ios": check_secp256k1_pubkeys_ios,
    "recover-sha256": check_recover_sha256,
    "recover-create-identity-v2-key": check_recover_create_identity_v2_key,
    "eip191-testvector1": check_eip191_testvector1,
    "auth-token-xmtpjs-1": check_auth_token_xmtpjs_1,
    "auth-token-xmtpjs-2": check_auth_token_xmtpjs_2,
    "wallet-verify-create-identity": check_wallet_verify_create_identity,
    "keypair-static": check_keypair_static,
    "libp2p-client-auth-requests": check_libp2p_client_auth_requests,
    "consent-proof-text": check_consent_proof_text,
}

VECTORS = load_vectors()


@pytest.mark.parametrize("vector_id", sorted(VECTORS))
def test_vector(vector_id: str) -> None:
    assert vector_id in CHECKS, f"no checker for vector {vector_id!r}"
    CHECKS[vector_id](VECTORS[vector_id])


def test_every_checker_has_a_vector() -> None:
    assert set(CHECKS) <= set(VECTORS)


def test_public_key_roundtrip_keeps_bytes() -> None:
    alice = PrivateKeyBundleV1.from_bytes(
        h(VECTORS["deterministic-invite-topic"]["data"]["alice_private_key_bundle_hex"])
    )
    key = alice.identity_key.public_key
    assert PublicKey.from_bytes(key.to_bytes()) == key
