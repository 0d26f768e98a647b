"""What the WalletConnect tests share: the test wallet's keys, fast relay timings, the event
log, pairing through the loopback relay, and checks that nothing is left running."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from app.keyengine.vault import MemoryStore
from app.keyengine.wallets.walletconnect import SignerEvent, WalletConnectSigner
from app.walletconnect.events import PairingUriReady
from app.walletconnect.relay import RelayClient
from app.walletconnect.relay_config import RelayOptions
from app.walletconnect.store import SessionStore
from tests.support.waiting import async_wait_until
from tests.support.wc_relay import LoopbackRelay
from tests.walletconnect.fake_wallet import FakeWallet

WALLET_KEY = bytes.fromhex("11" * 32)
OTHER_KEY = bytes.fromhex("22" * 32)
PROJECT_ID = "loopback-test-project"
FAST = RelayOptions(
    request_timeout=8.0,
    attempt_timeout=2.0,
    open_timeout=2.0,
    backoff_initial=0.05,
    backoff_max=0.4,
    ping_interval=1.0,
    ping_timeout=1.0,
)


@dataclass
class EventLog:
    """Collects events; ``uris`` gets every pairing URI as it is announced."""

    events: list[SignerEvent] = field(default_factory=list)
    uris: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def __call__(self, event: SignerEvent) -> None:
        self.events.append(event)
        if isinstance(event, PairingUriReady):
            self.uris.put_nowait(event.uri)

    def types(self) -> list[type]:
        """The class of every event so far (front ends match on the class, so do tests)."""
        return [type(event) for event in self.events]

    async def next_uri(self, timeout: float = 5) -> str:
        return await asyncio.wait_for(self.uris.get(), timeout)


async def pair(
    relay: LoopbackRelay,
    wc_wallet: FakeWallet,
    secrets: MemoryStore,
    wc_events: EventLog,
    **options: Any,
) -> WalletConnectSigner:
    """Run ``WalletConnectSigner.connect`` while the test wallet pairs and approves."""
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets,
            relay.url,
            PROJECT_ID,
            on_event=wc_events,
            relay_options=FAST,
            **options,
        )
    )
    try:
        proposal = await wc_wallet.pair(await wc_events.next_uri())
        await wc_wallet.approve(proposal)
        return await asyncio.wait_for(task, 5)
    except BaseException:
        task.cancel()
        raise


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks still alive besides the running test."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current and not task.done()}


def product_leftovers(relay: LoopbackRelay, secrets: MemoryStore) -> list[str]:
    """Tasks started by ``app.keyengine`` or ``app.walletconnect`` still running, and relay
    connections still open for the client identity stored in ``secrets`` (the test wallet and
    relay are not ours)."""
    found = []
    for task in other_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and any(
            part in code.co_filename for part in ("/app/keyengine/", "/app/walletconnect/")
        ):
            found.append(repr(task))
    client_id = SessionStore(secrets).client_key().did
    found += [
        f"relay connection of {c.client_id}" for c in relay.clients if c.client_id == client_id
    ]
    return found


async def assert_nothing_left(relay: LoopbackRelay, secrets: MemoryStore) -> None:
    """Everything our code started is stopped (the relay may need a moment to see a close)."""
    with contextlib.suppress(TimeoutError):
        await async_wait_until(lambda: not product_leftovers(relay, secrets), timeout=2)
    assert not product_leftovers(relay, secrets)


async def delivered_and_handled(relay: LoopbackRelay, client: RelayClient) -> None:
    """Wait until ``client`` acknowledged everything the relay sent it and handled it all."""
    await async_wait_until(lambda: relay.unacknowledged(client.client_id) == 0)
    await client.wait_idle()
