"""The machine's own copies: keyring entries (damaged ones reported) and the journal on disk."""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

import pytest

from app.keyengine.errors import JournalError
from app.keyengine.flows import EventKind, FlowEvent, KeyFlows
from app.keyengine.journal import STALE_TEMP_S, Journal, JournalStore
from app.keyengine.network import QuerySpec, XmtpClient
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import generate_identity
from app.keyengine.texts import SignaturePurpose
from app.keyengine.topics import private_store_topic
from app.keyengine.vault import DamagedKeyringEntry, MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner

pytestmark = pytest.mark.asyncio


def warnings(events: list[FlowEvent]) -> list[str]:
    return [e.message for e in events if e.kind is EventKind.WARNING]


def entry_name(wallet: RawKeySigner) -> str:
    return f"bundle:{wallet.address}"


@pytest.mark.parametrize(
    "value",
    ["%%% not base64 %%%", base64.b64encode(b"\x01\x02not a bundle").decode(), ""],
    ids=["not base64", "not a bundle", "empty"],
)
async def test_a_damaged_keyring_entry_is_reported_not_taken_for_absent(
    tmp_path: Path, secrets: MemoryStore, wallet: RawKeySigner, value: str
) -> None:
    vault = Vault(tmp_path, secrets)
    assert vault.load_bundle(wallet.address) is None  # no entry at all: absent
    secrets.set(entry_name(wallet), value)
    with pytest.raises(DamagedKeyringEntry, match="damaged") as raised:
        vault.load_bundle(wallet.address)
    assert wallet.address in str(raised.value)
    assert not value or value not in str(raised.value)  # the entry's content is never echoed


async def test_a_keyring_entry_holding_another_wallets_keys_is_damaged(
    tmp_path: Path, secrets: MemoryStore, wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    theirs = await generate_identity(other_wallet)
    secrets.set(entry_name(wallet), base64.b64encode(theirs.to_bytes()).decode())
    with pytest.raises(DamagedKeyringEntry, match="another wallet"):
        Vault(tmp_path, secrets).load_bundle(wallet.address)


async def test_login_over_a_damaged_entry_warns_and_replaces_it_with_the_network_copy(
    flows: KeyFlows, secrets: MemoryStore, wallet: RawKeySigner, events: list[FlowEvent]
) -> None:
    first = await flows.login(wallet)
    secrets.set(entry_name(wallet), base64.b64encode(b"\x00damaged").decode())
    events.clear()
    again = await flows.login(wallet)
    assert again.bundle == first.bundle
    [warning] = warnings(events)
    assert "damaged" in warning and wallet.address in warning
    assert flows.vault.load_bundle(wallet.address) == first.bundle


async def test_local_pre_keys_missing_on_the_network_are_stored_again_with_a_warning(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner, events: list[FlowEvent]
) -> None:
    """A crash after saving a rotation in the keyring but before journaling it."""
    first = await flows.login(wallet)
    rotated = rotate_pre_key(first.bundle)
    flows.vault.save_bundle(rotated)
    events.clear()
    again = await flows.login(wallet)
    assert warnings(events) == [
        "this machine holds pre-keys the network copy lacks; storing them again"
    ]
    assert again.bundle == rotated
    requested = [e.request.purpose for e in events if e.request is not None]
    assert requested == [SignaturePurpose.ENABLE_IDENTITY, SignaturePurpose.ENABLE_IDENTITY]
    stored = await client.query(QuerySpec(private_store_topic(wallet.address)))
    assert len(stored) == 2


def _journal(wallet: str) -> Journal:
    return Journal(wallet=wallet, encrypted_bundle=b"\x01" * 40, store_timestamp_ns=1)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_journal_writes_owner_only_files_in_owner_only_directories(
    tmp_path: Path, wallet: RawKeySigner
) -> None:
    data_dir = tmp_path / "new" / "data"
    store = JournalStore(data_dir)
    old_umask = os.umask(0o022)
    try:
        store.write(_journal(wallet.address))
    finally:
        os.umask(old_umask)
    assert _mode(store.path(wallet.address)) == 0o600
    assert _mode(store.directory) == 0o700
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir.parent) == 0o700  # created for the journal, so owner-only too
    assert store.pending(wallet.address) == _journal(wallet.address)


async def test_a_journal_directory_left_world_readable_is_tightened(
    tmp_path: Path, wallet: RawKeySigner
) -> None:
    (tmp_path / "journal").mkdir(mode=0o755)
    os.chmod(tmp_path / "journal", 0o755)  # noqa: S103 - the old, too open directory
    store = JournalStore(tmp_path)
    store.write(_journal(wallet.address))
    assert _mode(store.directory) == 0o700


async def test_temporary_files_a_crash_left_are_removed_at_the_next_start(
    tmp_path: Path, wallet: RawKeySigner
) -> None:
    store = JournalStore(tmp_path)
    store.write(_journal(wallet.address))
    journal_file = store.path(wallet.address)
    stray = store.directory / f".{journal_file.name}.k3x9q.tmp"
    stray.write_bytes(b'{"wallet": "half a jour')
    crashed_at = time.time() - STALE_TEMP_S - 5
    os.utime(stray, (crashed_at, crashed_at))
    in_progress = store.directory / f".{journal_file.name}.w7t2m.tmp"
    in_progress.write_bytes(b"another session is writing this right now")
    unrelated = store.directory / "notes.txt"
    unrelated.write_text("kept")
    JournalStore(tmp_path)  # the next session opens the journal
    assert not stray.exists()
    assert in_progress.exists()  # too young to be a crash's leftover
    assert journal_file.exists() and unrelated.exists()
    assert store.pending(wallet.address) == _journal(wallet.address)


async def test_a_vault_opens_its_journal_and_cleans_it(tmp_path: Path) -> None:
    (tmp_path / "journal").mkdir()
    stray = tmp_path / "journal" / ".0xabc.json.1234.tmp"
    stray.write_bytes(b"partial")
    os.utime(stray, (0, 0))
    Vault(tmp_path, None)
    assert not stray.exists()


async def test_a_damaged_journal_stops_login_with_a_typed_error_and_is_kept(
    flows: KeyFlows, client: XmtpClient, wallet: RawKeySigner
) -> None:
    """Pending work that cannot be read is never silently dropped (it may hold a pre-key)."""
    path = flows.vault.journal.path(wallet.address)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"wallet": "cut short')
    with pytest.raises(JournalError, match="damaged"):
        await flows.login(wallet)
    assert path.read_bytes() == b'{"wallet": "cut short'
    assert await client.query(QuerySpec(private_store_topic(wallet.address))) == []
