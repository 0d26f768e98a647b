"""Continuing from the keyring: no signature, works offline, publishes what is pending."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.keyengine.flows import KeyFlows
from app.keyengine.network import NodeUnreachable, XmtpClient
from app.keyengine.remembered import (
    REMEMBERED,
    continue_remembered,
    pending_change,
    publish_pending,
    refresh,
    remembers,
)
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner
from tests.support.node import RunningNode

pytestmark = pytest.mark.asyncio


async def test_continue_needs_no_signature_and_gives_the_same_keys(
    flows: KeyFlows, vault: Vault, client: XmtpClient, wallet: RawKeySigner
) -> None:
    identity = await flows.login(wallet)
    again = await continue_remembered(KeyFlows(client, vault), wallet.address)
    assert again is not None
    assert again.source == REMEMBERED
    assert again.bundle == identity.bundle
    assert again.encrypted == identity.encrypted
    assert again.signed == ()
    assert remembers(flows, wallet.address)


async def test_nothing_remembered_means_the_wallet_is_needed(
    client: XmtpClient, tmp_path: Path, wallet: RawKeySigner
) -> None:
    flows = KeyFlows(client, Vault(tmp_path / "empty", MemoryStore()))
    assert not remembers(flows, wallet.address)
    assert await continue_remembered(flows, wallet.address) is None
    flows = KeyFlows(client, Vault(tmp_path / "none", None))
    assert await continue_remembered(flows, wallet.address) is None


async def test_offline_rotation_stays_pending_then_is_published_without_a_signature(
    node: RunningNode, vault: Vault, wallet: RawKeySigner
) -> None:
    async with XmtpClient(node.url, retries=0, backoff_s=0.01) as client:
        flows = KeyFlows(client, vault)
        identity = await flows.login(wallet)
        node.stop()
        with pytest.raises(NodeUnreachable):
            await flows.rotate_prekey(wallet, identity)
        pending = pending_change(flows, wallet.address)
        assert pending is not None and not pending.stored
        # Offline, the keys still open from the keyring, with the rotated pre-key first.
        offline = await continue_remembered(flows, wallet.address)
        assert offline is not None
        assert len(offline.bundle.pre_keys) == 2
        assert pending_change(flows, wallet.address) is not None
        node.start()
        assert await publish_pending(flows, offline) is True
        assert pending_change(flows, wallet.address) is None
        found = await flows.lookup(wallet.address)
        assert found.valid and found.contact is not None
        assert found.contact.pre_key_point == offline.bundle.current_pre_key.public_key.point


async def test_refresh_takes_pre_keys_the_cli_saved_and_sees_rotations_elsewhere(
    flows: KeyFlows, vault: Vault, client: XmtpClient, wallet: RawKeySigner, tmp_path: Path
) -> None:
    identity = await flows.login(wallet)
    # Another program on this machine (the CLI) rotates with the same keyring.
    rotated = await KeyFlows(client, vault).rotate_prekey(wallet, identity)
    seen = await refresh(flows, identity)
    assert seen.identity.bundle == rotated.bundle and not seen.changed_elsewhere
    # Another machine (its own keyring) rotates: the node publishes a pre-key we never saw.
    elsewhere = KeyFlows(client, Vault(tmp_path / "other", MemoryStore()))
    other = await elsewhere.login(wallet)
    await elsewhere.rotate_prekey(wallet, other)
    assert (await refresh(flows, seen.identity)).changed_elsewhere
