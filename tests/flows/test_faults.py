"""Crash safety: a dead node or a killed process at any step leaves exactly one identity and
every pre-key, and the next login finishes the job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.keyengine.contact import ContactBundle
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import KeyEngineError
from app.keyengine.flows import EventKind, FlowEvent, KeyFlows
from app.keyengine.network import NodeUnreachable, QuerySpec, XmtpClient
from app.keyengine.recipes import decrypt_bundle
from app.keyengine.texts import SignaturePurpose
from app.keyengine.topics import contact_topic, private_store_topic
from app.keyengine.vault import Vault
from app.keyengine.wallets import RawKeySigner
from tests.support.node import RunningNode
from tests.support.paths import REPO_ROOT


async def network_state(url: str, signer: RawKeySigner) -> tuple[set[bytes], set[bytes]]:
    """(identity keys of every stored bundle, pre-keys of every published contact)."""
    async with XmtpClient(url) as client:
        stored = await client.query(QuerySpec(private_store_topic(signer.address)))
        contacts = await client.query(QuerySpec(contact_topic(signer.address)))
    identities = set()
    for envelope in stored:
        bundle = await decrypt_bundle(
            EncryptedPrivateKeyBundle.from_bytes(envelope.message), signer
        )
        identities.add(bundle.identity_key.public_key.point)
    pre_keys = set()
    for envelope in contacts:
        point = ContactBundle.from_bytes(envelope.message).pre_key_point
        assert point is not None
        pre_keys.add(point)
    return identities, pre_keys


def run_child(url: str, data_dir: Path, wallet_hex: str, action: str, kill_at: int) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.flows.kill_runner",
            url,
            str(data_dir),
            wallet_hex,
            action,
            str(kill_at),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if kill_at < 0:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == -9, (result.returncode, result.stderr)
    return result.stdout


def full_event_count(url: str, tmp: Path, wallet_hex: str, action: str) -> int:
    """Events of one uninterrupted run, in the same situation as the killed runs."""
    if action == "rotate":
        run_child(url, tmp, wallet_hex, "login", -1)
    return int(run_child(url, tmp, wallet_hex, action, -1).strip())


@pytest.mark.asyncio
async def test_node_down_during_generation_resumes_without_a_second_identity(
    tmp_path: Path, wallet: RawKeySigner, node: RunningNode
) -> None:
    url = node.url
    vault = Vault(tmp_path / "data", None)
    events: list[FlowEvent] = []

    def stop_node_when_saving(event: FlowEvent) -> None:
        events.append(event)
        if event.message.startswith("saving keys locally"):
            node.stop()

    async with XmtpClient(url, retries=1, backoff_s=0.01) as client:
        with pytest.raises(NodeUnreachable):
            await KeyFlows(client, vault, stop_node_when_saving).login(wallet)
    journal = vault.journal.pending(wallet.address)
    assert journal is not None and not journal.stored

    assert node.start() == url  # the same database on the same port
    events.clear()
    async with XmtpClient(url) as client:
        identity = await KeyFlows(client, vault, events.append).login(wallet)
    signed = [e.request.purpose for e in events if e.kind is EventKind.SIGN_REQUEST and e.request]
    assert SignaturePurpose.CREATE_IDENTITY not in signed
    assert identity.source == "generated"
    assert identity.bundle.identity_key.public_key.point.hex() == journal.identity_key
    identities, pre_keys = await network_state(url, wallet)
    assert identities == {identity.bundle.identity_key.public_key.point}
    assert pre_keys == {identity.bundle.current_pre_key.public_key.point}
    assert vault.journal.pending(wallet.address) is None


@pytest.mark.parametrize("action", ["login", "rotate"])
@pytest.mark.asyncio
async def test_kill_at_every_step_then_login_recovers(tmp_path: Path, action: str) -> None:
    wallet_hex = "5a" * 32
    signer = RawKeySigner(bytes.fromhex(wallet_hex))
    (tmp_path / "count").mkdir()
    with RunningNode(tmp_path / "count.sqlite3") as counting:
        steps = full_event_count(counting.url, tmp_path / "count", wallet_hex, action)
    assert steps >= 8
    for kill_at in range(steps):
        case = tmp_path / f"{action}-{kill_at}"
        case.mkdir()
        with RunningNode(case / "node.sqlite3") as node:
            if action == "rotate":
                run_child(node.url, case / "data", wallet_hex, "login", -1)
            run_child(node.url, case / "data", wallet_hex, action, kill_at)
            async with XmtpClient(node.url) as client:
                flows = KeyFlows(client, Vault(case / "data", None))
                identity = await flows.login(signer)
                assert (await flows.lookup(signer.address)).valid
            identities, published_pre_keys = await network_state(node.url, signer)
            assert identities == {identity.bundle.identity_key.public_key.point}, kill_at
            kept = {k.public_key.point for k in identity.bundle.pre_keys}
            assert published_pre_keys <= kept, kill_at
            assert Vault(case / "data", None).journal.pending(signer.address) is None


@pytest.mark.asyncio
async def test_node_restart_between_logins(
    tmp_path: Path, wallet: RawKeySigner, node: RunningNode
) -> None:
    vault = Vault(tmp_path / "data", None)
    async with XmtpClient(node.url) as client:
        first = await KeyFlows(client, vault).login(wallet)
    node.restart()
    async with XmtpClient(node.url) as client:
        second = await KeyFlows(client, vault).login(wallet)
    assert second.source == "retrieved" and second.bundle == first.bundle


@pytest.mark.asyncio
async def test_dead_node_is_a_clear_error(tmp_path: Path, wallet: RawKeySigner) -> None:
    async with XmtpClient("http://127.0.0.1:9", retries=1, backoff_s=0.01) as client:
        with pytest.raises(NodeUnreachable, match="cannot reach the XMTP node"):
            await KeyFlows(client, Vault(tmp_path, None)).login(wallet)
    assert issubclass(NodeUnreachable, KeyEngineError)


@pytest.mark.asyncio
async def test_rotating_again_after_a_failed_rotation_keeps_both_pre_keys(
    tmp_path: Path, wallet: RawKeySigner, node: RunningNode
) -> None:
    """A rotation whose publish failed, then another rotation from the *old* identity: the
    first new pre-key must survive (it may already be in someone's invitation)."""
    vault = Vault(tmp_path / "data", None)
    async with XmtpClient(node.url, retries=0) as client:
        identity = await KeyFlows(client, vault).login(wallet)
        node.stop()
        with pytest.raises(NodeUnreachable):
            await KeyFlows(client, vault).rotate_prekey(wallet, identity)
    pending = vault.journal.pending(wallet.address)
    assert pending is not None and len(pending.pre_keys) == 2
    node.start()
    async with XmtpClient(node.url) as client:
        again = await KeyFlows(client, vault).rotate_prekey(wallet, identity)
    kept = [k.public_key.point.hex() for k in again.bundle.pre_keys]
    assert len(kept) == 3
    assert set(pending.pre_keys) <= set(kept)
