"""Private-preferences crypto against libxmtp's published reference vector and itself."""

from __future__ import annotations

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto import secp256k1
from app.keyengine.errors import DecryptionFailed
from app.keyengine.keys import PrivateKey, PublicKey
from app.keyengine.keystore_service import selfcrypt
from app.keyengine.keystore_service.errors import KeystoreMethodError

# xmtp_user_preferences::topic "generate_reference_identifier", the cross-SDK example key.
REFERENCE_KEY = bytes.fromhex("45efdf1103db7e15ac4a37127bf0f6959e4ab7e5ec6285b85f2c82238a7124d3")


def test_topic_identifier_matches_the_reference_vector() -> None:
    key = PrivateKey(1, REFERENCE_KEY, PublicKey(1, secp256k1.public_key_of(REFERENCE_KEY)))
    assert (
        selfcrypt.preferences_topic_identifier(key) == "EBsHSM9lLmELuUVCMJ-tPE0kDcok1io9IwUO6WPC-cM"
    )


def test_self_encryption_is_bound_to_the_identity(
    bob_bundle: PrivateKeyBundleV1, alice_bundle: PrivateKeyBundleV1
) -> None:
    sealed = selfcrypt.self_encrypt(bob_bundle.identity_key, b"allow 0xabc")
    assert selfcrypt.self_decrypt(bob_bundle.identity_key, sealed) == b"allow 0xabc"
    assert selfcrypt.self_encrypt(bob_bundle.identity_key, b"allow 0xabc") != sealed
    with pytest.raises(DecryptionFailed):
        selfcrypt.self_decrypt(alice_bundle.identity_key, sealed)
    with pytest.raises(KeystoreMethodError):
        selfcrypt.self_decrypt(bob_bundle.identity_key, b"\xff\xff")
