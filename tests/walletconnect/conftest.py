"""Fixtures for the WalletConnect tests: a loopback relay, a Python test wallet, an event log.

What the tests import lives in ``tests/support/walletconnect.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from app.keyengine.vault import MemoryStore
from app.keyengine.wallets.walletconnect import WalletConnectSigner
from tests.support.walletconnect import OTHER_KEY, WALLET_KEY, EventLog, pair
from tests.support.wc_relay import LoopbackRelay
from tests.walletconnect.fake_wallet import FakeWallet


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[LoopbackRelay]:
    async with LoopbackRelay(ping_interval=1.0) as server:
        yield server


@pytest_asyncio.fixture
async def wc_wallet(relay: LoopbackRelay) -> AsyncIterator[FakeWallet]:
    async with FakeWallet(relay.url, WALLET_KEY, other_key=OTHER_KEY) as peer:
        yield peer
    assert not peer.errors, peer.errors


@pytest.fixture
def wc_events() -> EventLog:
    return EventLog()


@pytest_asyncio.fixture
async def connected(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> AsyncIterator[WalletConnectSigner]:
    """A signer paired with the test wallet through the loopback relay."""
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    yield signer
    await signer.close()
