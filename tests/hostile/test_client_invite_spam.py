"""Invitation spam: 20,300 junk envelopes on a real node's invite topic are skipped in under
2 s, reported in one counted line, and the next run reads only what is new.

The node runs in its own process over a SQLite file filled beforehand through the node's own
storage (20,000 small junk envelopes, 1,000 of them real invitations sealed to someone else,
plus 300 of about 1 MB, as an older node would have kept them).  The node refuses to publish,
and does not serve, invite-topic envelopes over 64 KiB; the client skips such envelopes unread
when a node does send them (``test_client_pages.py``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.keyengine import invitations
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.flows import KeyFlows
from app.keyengine.invitations import create_invitation
from app.keyengine.network import Envelope, TokenSource, XmtpClient
from app.keyengine.recipes import generate_identity
from app.keyengine.topics import invite_topic
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.storage import Envelope as StoredEnvelope
from app.xmtpnode.storage import SqliteStorage
from tests.support.hostile import run_cli
from tests.support.node_process import NodeProcess

pytestmark = pytest.mark.asyncio

ME = RawKeySigner(bytes.fromhex("6a" * 32))
PEER = RawKeySigner(bytes.fromhex("6b" * 32))
STRANGER = RawKeySigner(bytes.fromhex("6c" * 32))
SMALL_JUNK = 20_000
SEALED_TO_A_STRANGER = 1_000
BIG_JUNK = 300
BIG_BYTES = 1_048_000  # just under the node's 1,048,214-byte message ceiling
SKIP_BOUND_S = 2.0
"""The issue's ceiling for reading and skipping the 20,300 (wall time, node included)."""


def _junk(topic: str, base_ns: int) -> list[StoredEnvelope]:
    peer = asyncio.run(generate_identity(PEER))
    stranger = asyncio.run(generate_identity(STRANGER)).signed_public_key_bundle()
    rng = random.Random(11)
    envelopes = []
    for i in range(SMALL_JUNK):
        created = base_ns + i
        if i < SEALED_TO_A_STRANGER:
            message = create_invitation(peer, stranger, created)[0].to_bytes()
        else:
            message = rng.randbytes(rng.randint(1, 300)) + i.to_bytes(4, "big")
        envelopes.append(StoredEnvelope(topic, created, message))
    for i in range(BIG_JUNK):
        envelopes.append(StoredEnvelope(topic, base_ns + SMALL_JUNK + i, os.urandom(BIG_BYTES)))
    return envelopes


@pytest.fixture(scope="module")
def spammed_node(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("spam") / "node.sqlite3"
    base_ns = time.time_ns() - 3600 * 10**9
    with SqliteStorage(db) as storage:
        storage.insert_new(_junk(invite_topic(ME.address), base_ns))
    with NodeProcess(str(db)) as node:
        url = node.url
        yield url


class Counting:
    """How many envelopes the node sent, and how many key agreements the client did."""

    def __init__(self, client: XmtpClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.envelopes = 0
        self.key_agreements = 0
        page = client.query_page
        dh = invitations.three_dh

        async def counted_page(*args: Any, **kwargs: Any) -> Any:
            envelopes, cursor = await page(*args, **kwargs)
            self.envelopes += len(envelopes)
            return envelopes, cursor

        def counted_dh(*args: Any, **kwargs: Any) -> bytes:
            self.key_agreements += 1
            return dh(*args, **kwargs)

        monkeypatch.setattr(client, "query_page", counted_page)
        monkeypatch.setattr(invitations, "three_dh", counted_dh)


@pytest_asyncio.fixture
async def client(spammed_node: str) -> AsyncIterator[XmtpClient]:
    async with XmtpClient(spammed_node) as c:
        yield c


async def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.monotonic(), time.process_time()
    result = await work()
    return result, time.monotonic() - wall, time.process_time() - cpu


async def test_junk_is_skipped_cheaply_and_the_next_run_reads_only_new(
    client: XmtpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows = KeyFlows(client, Vault(tmp_path / "data", MemoryStore()))
    me = await flows.login(ME)
    counting = Counting(client, monkeypatch)

    report, wall, cpu = await _timed(lambda: flows.invites(me.bundle))
    assert report.invites == ()
    [line] = report.errors
    assert line.startswith("skipped 20,000 unreadable invitations (")
    assert counting.envelopes == SMALL_JUNK  # the node never serves the 300 large ones
    assert counting.key_agreements == 0  # junk never reaches the 3-DH
    print(f"20,300 junk invitations: client CPU {cpu:.2f} s, wall {wall:.2f} s")
    assert wall < SKIP_BOUND_S, f"{wall:.2f} s to skip the junk"

    peer = await generate_identity(PEER)
    created = time.time_ns() // 1_000_000 * 1_000_000
    sealed, invitation = create_invitation(peer, me.bundle.signed_public_key_bundle(), created)
    await client.publish(
        [Envelope(invite_topic(ME.address), created, sealed.to_bytes())], TokenSource(peer)
    )
    counting.envelopes = counting.key_agreements = 0
    report, wall, _ = await _timed(lambda: flows.invites(me.bundle))
    assert report.errors == ()
    [invite] = report.invites
    assert invite.topic == invitation.topic and invite.peer_address == PEER.address
    assert counting.envelopes <= 2  # the new one, and at most the last one read before it
    assert counting.key_agreements == 1
    assert wall < 2

    # A new process (a new client and flows) on the same data dir remembers both.
    async with XmtpClient(client.base_url) as again:
        later = KeyFlows(again, Vault(tmp_path / "data", MemoryStore()))
        report = await later.invites(me.bundle)
    assert report.errors == () and [i.topic for i in report.invites] == [invitation.topic]
    _assert_log_holds_no_secrets(tmp_path / "data", me.bundle, invitation.key_material)


def _assert_log_holds_no_secrets(
    data_dir: Path, bundle: PrivateKeyBundleV1, key_material: bytes
) -> None:
    [log_file] = (data_dir / "invites").iterdir()
    assert log_file.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "invites").stat().st_mode & 0o777 == 0o700
    text = log_file.read_text()
    secrets = [key_material, bundle.identity_key.secret, *(k.secret for k in bundle.pre_keys)]
    for secret in secrets:
        assert secret.hex() not in text
        assert secret.hex() not in text.lower()


async def test_cli_warns_once_with_a_count(tmp_path: Path) -> None:
    db = tmp_path / "node.sqlite3"
    base_ns = time.time_ns() - 10**12
    with SqliteStorage(db) as storage:
        storage.insert_new(
            [
                StoredEnvelope(invite_topic(ME.address), base_ns + i, b"junk %d" % i)
                for i in range(250)
            ]
        )
    key_file = tmp_path / "wallet.hex"
    key_file.write_text("6a" * 32)
    with NodeProcess(str(db)) as node:
        url = node.url
        argv = ["--node", url, "--data-dir", str(tmp_path / "data"), "invites"]
        first = await asyncio.to_thread(run_cli, *argv, "--wallet-key-file", str(key_file))
        second = await asyncio.to_thread(run_cli, *argv, "--wallet-key-file", str(key_file))
    assert first.code == 0, first.stderr
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: skipped 250 unreadable invitations "
        "(250 sealed invitation: not a valid protobuf encoding)"
    ]
    assert second.code == 0 and "warning:" not in second.stderr
