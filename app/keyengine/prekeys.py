"""Pre-keys: a fresh one signed by the identity key, rotation, and merging two copies.

Rotation prepends a new pre-key; every earlier private pre-key stays in the bundle (history) so
invitations sealed to it still open, and merging two copies of one identity keeps the union.
Generating a whole identity needs the wallet, so it is a recipe (``app.keyengine.recipes``).
"""

from __future__ import annotations

import time

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.errors import InvalidBundle
from app.keyengine.keys import PrivateKey


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_pre_key(identity: PrivateKey, timestamp_ms: int) -> PrivateKey:
    """A fresh pre-key whose public key is signed by ``identity`` (SHA-256 of its bytes)."""
    pre_key = PrivateKey.generate(timestamp_ms)
    return pre_key.with_public_key(identity.sign_key(pre_key.public_key))


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


def merge_bundles(primary: PrivateKeyBundleV1, other: PrivateKeyBundleV1) -> PrivateKeyBundleV1:
    """Union of the pre-keys of two copies of one identity, newest first; nothing is dropped.

    Used when the local copy and the network copy disagree (a crash between saving locally and
    storing remotely): the identity keys must be the same.
    """
    if primary.identity_key.public_key.point != other.identity_key.public_key.point:
        raise InvalidBundle("cannot merge bundles of two different identities")
    unique: dict[bytes, PrivateKey] = {}
    for key in (*primary.pre_keys, *other.pre_keys):
        unique.setdefault(key.public_key.point, key)
    merged = sorted(unique.values(), key=lambda k: k.public_key.timestamp_ms, reverse=True)
    return PrivateKeyBundleV1(primary.identity_key, tuple(merged))
