"""Identity generation and pre-key rotation.

Generation mirrors xmtp-js ``PrivateKeyBundleV1.generate``: a random identity key attested by the
wallet, and one pre-key signed by the identity key.  Rotation prepends a new pre-key; every earlier
private pre-key stays in the bundle (history) so invitations sealed to it still open.
"""

from __future__ import annotations

import time

from app.keyengine.attestation import apply_attestation, create_identity_request
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keys import PrivateKey
from app.keyengine.wallets.base import SignatureObserver, WalletSigner, request_signature


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_pre_key(identity: PrivateKey, timestamp_ms: int) -> PrivateKey:
    """A fresh pre-key whose public key is signed by ``identity`` (SHA-256 of its bytes)."""
    pre_key = PrivateKey.generate(timestamp_ms)
    return pre_key.with_public_key(identity.sign_key(pre_key.public_key))


async def generate_identity(
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
    *,
    timestamp_ms: int | None = None,
) -> PrivateKeyBundleV1:
    """Create a new identity for ``signer``'s wallet (one Create Identity signature)."""
    created = now_ms() if timestamp_ms is None else timestamp_ms
    identity = PrivateKey.generate(created)
    signature = await request_signature(signer, create_identity_request(identity), observer)
    identity = apply_attestation(identity, signature)
    return PrivateKeyBundleV1(identity, (new_pre_key(identity, created + 1),))


def rotate_pre_key(
    bundle: PrivateKeyBundleV1, *, timestamp_ms: int | None = None
) -> PrivateKeyBundleV1:
    """A bundle with a new current pre-key; the previous ones are kept, newest first.

    The new pre-key's timestamp is kept strictly later than the current one even if the clock
    went backwards, so "newest first" stays true by timestamp as well as by position.
    """
    created = now_ms() if timestamp_ms is None else timestamp_ms
    created = max(created, bundle.current_pre_key.timestamp_ms + 1)
    return bundle.with_new_pre_key(new_pre_key(bundle.identity_key, created))
