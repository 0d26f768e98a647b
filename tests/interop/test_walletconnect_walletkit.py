"""Our WalletConnect dApp side against the official wallet SDK (@reown/walletkit 1.6.0).

Wallet, relay and node all run on loopback; the wallet driver refuses any other host and each
test asserts nothing tried to leave the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.keyengine.flows import KeyFlows
from app.keyengine.network import QuerySpec, XmtpClient
from app.keyengine.texts import SignaturePurpose, classify_text
from app.keyengine.topics import contact_topic
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner
from app.keyengine.wallets.walletconnect import WalletConnectSigner
from app.walletconnect.errors import (
    NoSession,
    RequestExpired,
    SessionDeleted,
    UserRejected,
)
from tests.interop.walletkit_driver import WalletKitPeer, walletkit_available
from tests.support.wc_relay import LoopbackRelay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]
REPO = Path(__file__).resolve().parents[2]
WALLET_KEY = "5e" * 32


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[LoopbackRelay]:
    async with LoopbackRelay(ping_interval=20.0) as running:
        yield running


async def start_wallet(relay: LoopbackRelay, **options: bool) -> WalletKitPeer:
    if not walletkit_available():
        pytest.fail("WalletKit peer not installed: run `make node-deps`")
    return await WalletKitPeer.start(relay.url, WALLET_KEY, **options)


async def paired_signer(
    relay: LoopbackRelay, wallet: WalletKitPeer, store: MemoryStore, **options: float
) -> WalletConnectSigner:
    uris: asyncio.Queue[str] = asyncio.Queue()

    def on_event(event: object) -> None:
        if getattr(event, "kind", "") == "pairing_uri":
            uris.put_nowait(str(event.uri))  # type: ignore[attr-defined]

    connecting = asyncio.create_task(
        WalletConnectSigner.connect(store, relay.url, "test-project", on_event=on_event, **options)
    )
    await wallet.pair(await asyncio.wait_for(uris.get(), 10))
    return await asyncio.wait_for(connecting, 20)


async def test_generation_then_resumed_retrieval(
    relay: LoopbackRelay, node_url: str, tmp_path: Path
) -> None:
    store = MemoryStore()
    async with await start_wallet(relay, auto_approve=True, auto_sign=True) as wallet:
        signer = await paired_signer(relay, wallet, store)
        assert signer.address == wallet.address
        async with XmtpClient(node_url) as client:
            identity = await KeyFlows(client, Vault(tmp_path / "a", None)).login(signer)
        assert identity.source == "generated"
        assert identity.wallet_address == wallet.address
        requests = wallet.events("request")
        assert all(r["message_was_hex"] and r["address_matches"] for r in requests)
        purposes = [classify_text(r["message_text"]).purpose for r in requests]
        assert purposes == [SignaturePurpose.CREATE_IDENTITY, SignaturePurpose.ENABLE_IDENTITY]
        await signer.close()

        # Our client restarts: the stored session resumes without pairing, one signature.
        resumed = await WalletConnectSigner.resume(store, relay.url, "test-project")
        assert resumed is not None and resumed.address == wallet.address
        async with XmtpClient(node_url) as client:
            again = await KeyFlows(client, Vault(tmp_path / "b", None)).login(resumed)
        assert again.source == "retrieved" and again.bundle == identity.bundle
        assert len(wallet.events("request")) == 3
        await resumed.close()
        # The identity is the wallet's own: a raw signer with the same key unlocks it too.
        async with XmtpClient(node_url) as client:
            raw = await KeyFlows(client, Vault(tmp_path / "c", None)).login(
                RawKeySigner(bytes.fromhex(WALLET_KEY))
            )
        assert raw.bundle == identity.bundle
        assert wallet.network_blocked() == []


async def test_rejection_publishes_nothing(
    relay: LoopbackRelay, node_url: str, tmp_path: Path
) -> None:
    async with await start_wallet(relay, auto_approve=True) as wallet:
        signer = await paired_signer(relay, wallet, MemoryStore())

        async def reject_first() -> None:
            request = await wallet.wait_for("request", timeout=20)
            await wallet.reject(request["id"])

        rejecting = asyncio.create_task(reject_first())
        async with XmtpClient(node_url) as client:
            with pytest.raises(UserRejected) as declined:
                await KeyFlows(client, Vault(tmp_path, None)).login(signer)
            await rejecting
            assert declined.value.by_user
            assert await client.query(QuerySpec(contact_topic(wallet.address))) == []
        await signer.close()
        assert wallet.network_blocked() == []


async def test_request_expiry_and_wallet_delete(relay: LoopbackRelay) -> None:
    store = MemoryStore()
    async with await start_wallet(relay, auto_approve=True, disable_request_queue=True) as wallet:
        signer = await paired_signer(relay, wallet, store, request_ttl=2.0)
        text = (
            "XMTP : Enable Identity\n"
            + "ab" * 32
            + "\n\nFor more info: https://xmtp.org/signatures/"
        )

        async def ignore_next() -> None:
            request = await wallet.wait_for("request", timeout=20)
            await wallet.send("ignore", id=request["id"])

        ignoring = asyncio.create_task(ignore_next())
        with pytest.raises(RequestExpired):
            await signer.sign_personal(text)
        await ignoring

        await wallet.send("delete")
        async with asyncio.timeout(10):
            while signer.session is not None:  # the delete arrives through the relay
                await asyncio.sleep(0.02)
        # The delete was seen: the session is gone and the user is told to connect again.
        with pytest.raises((SessionDeleted, NoSession), match="connect"):
            await signer.sign_personal(text)
        await signer.close()
        assert await WalletConnectSigner.resume(store, relay.url, "test-project") is None
        assert wallet.network_blocked() == []


async def test_relay_restart_mid_session(relay: LoopbackRelay) -> None:
    async with await start_wallet(relay, auto_approve=True, auto_sign=True) as wallet:
        signer = await paired_signer(relay, wallet, MemoryStore())
        text = (
            "XMTP : Enable Identity\n"
            + "cd" * 32
            + "\n\nFor more info: https://xmtp.org/signatures/"
        )
        assert len(await signer.sign_personal(text)) == 65
        await relay.drop_connections()
        signature = await asyncio.wait_for(signer.sign_personal(text), 30)
        assert len(signature) == 65
        await signer.close()
        assert wallet.network_blocked() == []


async def test_cli_login_with_walletconnect(
    relay: LoopbackRelay, node_url: str, tmp_path: Path
) -> None:
    """``xmtp-keys --json login --walletconnect``: pairing URI as a JSON line, two signatures."""
    async with await start_wallet(relay, auto_approve=True, auto_sign=True) as wallet:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "--node",
            node_url,
            "--data-dir",
            str(tmp_path),
            "--json",
            "login",
            "--walletconnect",
            "--relay",
            relay.url,
            "--project-id",
            "test-project",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        lines = []
        while True:
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert raw, (await proc.stderr.read()).decode() if proc.stderr else "no output"
            line = json.loads(raw)
            lines.append(line)
            if line.get("event") == "pairing_uri":
                await wallet.pair(line["uri"])
            if "event" not in line:
                break
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        result = lines[-1]
        assert result["wallet_address"] == wallet.address and result["source"] == "generated"
        kinds = [line["event"] for line in lines[:-1]]
        assert (
            kinds.index("pairing_uri")
            < kinds.index("session_approved")
            < kinds.index("sign_request")
        )
        assert wallet.network_blocked() == []


async def test_cli_declined_signature_is_exit_code_4(
    relay: LoopbackRelay, node_url: str, tmp_path: Path
) -> None:
    """The person says no in the wallet: exit code 4 and one sentence, nothing published."""
    async with await start_wallet(relay, auto_approve=True) as wallet:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "--node",
            node_url,
            "--data-dir",
            str(tmp_path),
            "--json",
            "login",
            "--walletconnect",
            "--relay",
            relay.url,
            "--project-id",
            "test-project",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        while True:
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert raw, (await proc.stderr.read()).decode()
            line = json.loads(raw)
            if line.get("event") == "pairing_uri":
                await wallet.pair(line["uri"])
                break
        request = await wallet.wait_for("request", timeout=20)
        await wallet.reject(request["id"])
        assert await asyncio.wait_for(proc.wait(), 30) == 4
        err = (await proc.stderr.read()).decode()
        assert err.splitlines()[-1] == (
            "xmtp-keys: error: the wallet declined to sign; nothing was changed"
        )
        async with XmtpClient(node_url) as client:
            assert await client.query(QuerySpec(contact_topic(wallet.address))) == []
        assert wallet.network_blocked() == []
