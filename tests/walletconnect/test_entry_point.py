"""``resume_or_pair``, the one way the CLI and the desktop app connect a WalletConnect wallet."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.keyengine.vault import MemoryStore
from app.keyengine.wallets.walletconnect import WalletConnectSigner
from app.walletconnect.events import PairingUriReady, SessionApproved
from app.walletconnect.store import SessionStore
from tests.support.walletconnect import FAST, PROJECT_ID, EventLog
from tests.support.wc_relay import LoopbackRelay
from tests.walletconnect.fake_wallet import FakeWallet


async def _resume_or_pair(
    relay: LoopbackRelay,
    wc_wallet: FakeWallet,
    secrets: MemoryStore,
    wc_events: EventLog,
    **options: Any,
) -> WalletConnectSigner:
    """``resume_or_pair``; if it shows a pairing URI, the test wallet pairs and approves."""
    connecting = asyncio.create_task(
        WalletConnectSigner.resume_or_pair(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST, **options
        )
    )
    uri = asyncio.create_task(wc_events.next_uri(timeout=10))
    done, _ = await asyncio.wait({connecting, uri}, return_when=asyncio.FIRST_COMPLETED)
    if uri in done:
        await wc_wallet.approve(await wc_wallet.pair(uri.result()))
    else:
        uri.cancel()
    return await asyncio.wait_for(connecting, 5)


@pytest.mark.asyncio
async def test_pairs_when_nothing_is_stored_then_resumes_without_a_code(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    first = await _resume_or_pair(relay, wc_wallet, secrets, wc_events)
    assert wc_events.types() == [PairingUriReady, SessionApproved]
    topic = first.session.topic  # type: ignore[union-attr]
    await first.aclose()

    again = await _resume_or_pair(
        relay, wc_wallet, secrets, wc_events, address=wc_wallet.address.lower()
    )
    try:
        assert wc_events.types() == [PairingUriReady, SessionApproved]  # no new code shown
        assert again.address == wc_wallet.address
        assert again.session is not None and again.session.topic == topic
    finally:
        await again.aclose()


@pytest.mark.asyncio
async def test_another_account_or_resume_false_pairs_anew(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    first = await _resume_or_pair(relay, wc_wallet, secrets, wc_events)
    await first.aclose()
    for options in ({"address": "0x" + "ab" * 20}, {"resume": False}):
        signer = await _resume_or_pair(relay, wc_wallet, secrets, wc_events, **options)
        await signer.aclose()
    assert wc_events.types().count(PairingUriReady) == 3
    assert len(SessionStore(secrets).sessions()) == 3  # three sessions with the same account


@pytest.mark.asyncio
async def test_forgetting_an_account_drops_all_its_sessions(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    for _ in range(2):
        signer = await _resume_or_pair(relay, wc_wallet, secrets, wc_events, resume=False)
        await signer.aclose()
    store = SessionStore(secrets)
    assert len(store.sessions()) == 2
    store.forget_account("0x" + "ab" * 20)  # somebody else: nothing changes
    assert len(store.sessions()) == 2
    store.forget_account(wc_wallet.address.lower())
    assert store.sessions() == []
    assert store.latest() is None
