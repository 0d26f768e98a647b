"""Continuing with keys remembered in the OS keyring: no wallet signature, no password.

A desktop messenger keeps its keys in the platform's secret store and opens them without asking
anything; so do we.  The wallet is needed only when a signature really is (a new identity, a
rotation, a restore: see ``app.keyengine.flows``).  What a previous session signed but could not
publish (the journal) needs no signature either: the journal holds the encrypted bundle and the
signed contacts, so ``publish_pending`` sends them as soon as the node answers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import InvalidBundle
from app.keyengine.flows import Identity, KeyFlows
from app.keyengine.journal import Journal
from app.keyengine.network import NetworkError, QuerySpec
from app.keyengine.prekeys import merge_bundles
from app.keyengine.topics import private_store_topic
from app.keyengine.vault import DamagedKeyringEntry

REMEMBERED = "remembered"
"""``Identity.source`` of keys opened from the keyring."""


def _points(bundle: PrivateKeyBundleV1) -> list[str]:
    return [key.public_key.point.hex() for key in bundle.pre_keys]


def remembers(flows: KeyFlows, wallet: str) -> bool:
    """True when the keyring holds keys for ``wallet`` (so "Continue" needs no wallet)."""
    try:
        return flows.vault.load_bundle(wallet) is not None
    except DamagedKeyringEntry:
        return False


def pending_change(flows: KeyFlows, wallet: str) -> Journal | None:
    """A change signed earlier and not yet (fully) on the node, or ``None``."""
    return flows.vault.journal.pending(to_checksum_address(wallet))


async def _stored_on_node(flows: KeyFlows, wallet: str) -> EncryptedPrivateKeyBundle | None:
    """The newest readable encrypted bundle on the node (read without any signature)."""
    spec = QuerySpec(private_store_topic(wallet), limit=5)
    try:
        async for envelope in flows.client.iter_query(spec):
            try:
                return EncryptedPrivateKeyBundle.from_bytes(envelope.message)
            except InvalidBundle:
                continue
    except NetworkError:
        return None
    return None


async def continue_remembered(flows: KeyFlows, wallet: str) -> Identity | None:
    """The identity of ``wallet`` from the keyring, or ``None`` when the wallet is needed.

    ``None`` means: no (readable) keys are remembered, or a journaled change holds pre-keys the
    keyring lacks (only the wallet can open it).  Works while the node is unreachable; what is
    pending is published here when the node answers, and stays pending (no error) otherwise.
    """
    wallet = to_checksum_address(wallet)
    try:
        bundle = flows.vault.load_bundle(wallet)
    except DamagedKeyringEntry:
        return None
    if bundle is None:
        return None
    bundle.verify()
    journal = pending_change(flows, wallet)
    if journal is not None:
        if journal.pre_keys != _points(bundle):
            return None
        encrypted: EncryptedPrivateKeyBundle | None = EncryptedPrivateKeyBundle.from_bytes(
            journal.encrypted_bundle
        )
    else:
        encrypted = flows.vault.load_encrypted(wallet) or await _stored_on_node(flows, wallet)
    if encrypted is None:
        return None
    identity = Identity(bundle, encrypted, REMEMBERED)
    await publish_pending(flows, identity)
    return identity


async def publish_pending(flows: KeyFlows, identity: Identity) -> bool:
    """Publish what the journal still lists for ``identity``; True once nothing is pending.

    Needs no signature.  An unreachable node leaves the journal as it is (returns False), so
    a caller may simply try again when the node is back.
    """
    journal = pending_change(flows, identity.wallet_address)
    if journal is None:
        return True
    if journal.pre_keys != _points(identity.bundle):
        return False
    try:
        await flows.finish_journal(journal, identity.bundle)
    except NetworkError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh found: the identity with every pre-key this machine knows, and whether
    the node's published pre-key is one this machine has never seen."""

    identity: Identity
    changed_elsewhere: bool = False
    """Keys were rotated on another machine: only the wallet can open the new bundle."""


async def refresh(flows: KeyFlows, identity: Identity) -> Refreshed:
    """Bring ``identity`` up to date without a signature: pre-keys another program on this
    machine (the CLI) saved in the keyring, pending publications, and a check of what the node
    publishes now.  An unreachable node leaves the node part for the next refresh."""
    wallet = identity.wallet_address
    try:
        local = flows.vault.load_bundle(wallet)
    except DamagedKeyringEntry:
        local = None
    if local is not None and local.identity_key == identity.bundle.identity_key:
        merged = merge_bundles(local, identity.bundle)
        if merged != identity.bundle:
            identity = dataclasses.replace(identity, bundle=merged)
    await publish_pending(flows, identity)
    try:
        found = await flows.lookup(wallet)
    except NetworkError:
        return Refreshed(identity)
    ours = {key.public_key.point for key in identity.bundle.pre_keys}
    published = found.contact.pre_key_point if found.valid and found.contact else None
    return Refreshed(identity, published is not None and published not in ours)
