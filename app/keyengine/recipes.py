"""The steps that ask a wallet to sign, each in one place.

Every wallet prompt of the engine happens here, so a reader of a flow sees where the wallet is
asked: ``generate_identity`` (Create Identity), ``encrypt_bundle`` (Enable Identity, a new
wallet pre-key) and ``decrypt_bundle`` (Enable Identity, the stored wallet pre-key).  The value
modules (keys, bundles, the encrypted-bundle format, attestation, pre-keys) only take the
wallet's signature bytes; they never talk to a signer.
"""

from __future__ import annotations

import secrets

from app.keyengine.attestation import apply_attestation, create_identity_request
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.encrypted_bundle import (
    WALLET_PRE_KEY_LENGTH,
    EncryptedPrivateKeyBundle,
    open_bundle,
    seal_bundle,
)
from app.keyengine.errors import DecryptionFailed, WrongWallet
from app.keyengine.keys import PrivateKey
from app.keyengine.prekeys import new_pre_key, now_ms
from app.keyengine.texts import SignatureRequest
from app.keyengine.wallets.base import (
    SignatureObserver,
    WalletSigner,
    check_signer,
    request_signature,
)


async def generate_identity(
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
    *,
    timestamp_ms: int | None = None,
) -> PrivateKeyBundleV1:
    """A new identity for ``signer``'s wallet (one Create Identity signature).

    Mirrors xmtp-js ``PrivateKeyBundleV1.generate``: a random identity key attested by the
    wallet, and one pre-key signed by the identity key.
    """
    created = now_ms() if timestamp_ms is None else timestamp_ms
    identity = PrivateKey.generate(created)
    signature = await request_signature(signer, create_identity_request(identity), observer)
    identity = apply_attestation(identity, signature)
    return PrivateKeyBundleV1(identity, (new_pre_key(identity, created + 1),))


async def encrypt_bundle(
    bundle: PrivateKeyBundleV1,
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
    *,
    wallet_pre_key: bytes | None = None,
) -> EncryptedPrivateKeyBundle:
    """Ask the wallet for an Enable Identity signature and seal ``bundle`` with it."""
    wallet_pre_key = (
        secrets.token_bytes(WALLET_PRE_KEY_LENGTH) if wallet_pre_key is None else wallet_pre_key
    )
    request = SignatureRequest.enable_identity(wallet_pre_key, stores=True)
    signature = await request_signature(signer, request, observer)
    return seal_bundle(bundle, signature, wallet_pre_key)


async def decrypt_bundle(
    encrypted: EncryptedPrivateKeyBundle,
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
) -> PrivateKeyBundleV1:
    """Ask the wallet to re-sign the stored Enable Identity text and unlock the bundle.

    Successful decryption authenticates the signature, so the recovery check runs only when
    decryption fails, to tell "another account signed" (``WrongWallet``, after asking once
    more in case the wallet answered with a stale signature) from "this bundle is not ours or
    is damaged" (``DecryptionFailed``).
    """
    request = encrypted.signature_request
    signature = await request_signature(signer, request, observer, verify=False)
    try:
        return open_bundle(encrypted, signature)
    except DecryptionFailed:
        try:
            check_signer(signer.address, request, signature)
        except WrongWallet:
            # Perhaps a stale signature (an earlier request's): ask once more, and this time
            # the signature must recover to the account before it is used.
            signature = await request_signature(signer, request, observer, retries=0)
            return open_bundle(encrypted, signature)
        raise
