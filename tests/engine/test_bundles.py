"""Private and public key bundles (``bundles``): out-of-range scalars and spoofed pre-keys."""

from __future__ import annotations

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import ContactBundle, verify_contact
from app.keyengine.crypto import secp256k1
from app.keyengine.errors import BadSignature, InvalidKey
from app.keyengine.proto import private_key_pb2
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import make_identity

N = secp256k1.CURVE_ORDER


@pytest.mark.asyncio
async def test_stored_bundle_with_out_of_range_scalar_is_invalid_key(
    wallet: RawKeySigner,
) -> None:
    bundle = await make_identity(wallet)
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
    alice = await make_identity(wallet)
    bob = await make_identity(other_wallet, 1)
    spoofed = PrivateKeyBundleV1(alice.identity_key, bob.pre_keys)
    with pytest.raises(BadSignature):
        spoofed.verify()
    report = verify_contact(ContactBundle.v1(spoofed.public_key_bundle()))
    assert not report.valid and any("pre-key" in error for error in report.errors)
