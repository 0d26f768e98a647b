"""The ways to get a client with a live session: pair a wallet, resume a stored session, or both.

``resume_or_pair`` is the one entry point front ends use ("resume the stored session for this
account, else pair"): the CLI and the desktop app behave the same way because they run the same
code.  Pairing renews an expired URI by itself (announced as a new ``PairingUriReady``) until a
wallet connects, the caller cancels, or ``renewals`` new URIs were shown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.walletconnect.client import WalletConnectClient
from app.walletconnect.constants import DEFAULT_RELAY_URL, PAIRING_TTL
from app.walletconnect.errors import PairingExpired, UserRejected
from app.walletconnect.events import EventHandler, Expired, PairingUriReady, Rejected, Step, emit
from app.walletconnect.relay_config import RelayOptions, resolve_project_id
from app.walletconnect.session import DEFAULT_CHAINS, AppMetadata
from app.walletconnect.store import SessionStore


@dataclass(frozen=True)
class ClientSettings:
    """Everything a client is made from besides its store."""

    metadata: AppMetadata
    relay_url: str = DEFAULT_RELAY_URL
    project_id: str | None = None
    """``None``: ``$XMTP_COMPANION_WC_PROJECT_ID`` (``ProjectIdMissing`` if unset)."""
    chains: Sequence[str] = DEFAULT_CHAINS
    on_event: EventHandler | None = None
    clock: Callable[[], float] = time.time
    relay_options: RelayOptions | None = None
    propose_with_relay_method: bool = False

    def client(self, store: SessionStore) -> WalletConnectClient:
        return WalletConnectClient(
            store,
            project_id=resolve_project_id(self.project_id),
            metadata=self.metadata,
            relay_url=self.relay_url,
            chains=self.chains,
            on_event=self.on_event,
            clock=self.clock,
            relay_options=self.relay_options,
            propose_with_relay_method=self.propose_with_relay_method,
        )


async def pair(
    store: SessionStore,
    settings: ClientSettings,
    *,
    pairing_timeout: float = PAIRING_TTL,
    renewals: int | None = None,
) -> WalletConnectClient:
    """A started client whose session a wallet just approved.

    Each URI is valid ``pairing_timeout`` seconds.  ``PairingExpired`` once ``renewals`` new URIs
    expired too, ``UserRejected`` when the wallet declines, ``SessionRefused`` when it offers no
    usable account; the client is closed on any failure or cancellation.
    """
    client = settings.client(store)
    on_event = settings.on_event
    try:
        await client.start()
        renewal = 0
        while True:
            proposal = await client.propose(ttl=pairing_timeout)
            emit(on_event, PairingUriReady(proposal.uri, proposal.expires_at, renewal))
            try:
                await proposal.wait()
                return client
            except PairingExpired:
                emit(on_event, Expired(Step.PAIRING))
                if renewals is not None and renewal >= renewals:
                    raise
                renewal += 1
            except UserRejected as exc:
                emit(on_event, Rejected(Step.PROPOSAL, exc.code, str(exc)))
                raise
    except BaseException:
        await client.close()
        raise


async def resume_stored(
    store: SessionStore, settings: ClientSettings, *, address: str | None = None
) -> WalletConnectClient | None:
    """A started client on the stored session (of ``address`` if given); ``None`` if none.

    ``None`` also when the session expired or the wallet deleted it while we were away (the
    delete waits in the relay mailbox, fetched here).  No connection is made when nothing is
    stored.
    """
    session = await asyncio.to_thread(store.latest, address)
    if session is None:
        return None
    client = settings.client(store)
    try:
        await client.start(session)
    except BaseException:
        await client.close()
        raise
    if client.session is None:
        await client.close()
        return None
    return client


async def resume_or_pair(
    store: SessionStore,
    settings: ClientSettings,
    *,
    resume: bool = True,
    address: str | None = None,
    pairing_timeout: float = PAIRING_TTL,
    renewals: int | None = None,
) -> WalletConnectClient:
    """Resume the stored session of ``address`` (any account if ``None``), else pair anew.

    ``resume=False`` always pairs (a person asked for a new connection code).
    """
    resumed = await resume_stored(store, settings, address=address) if resume else None
    if resumed is not None:
        return resumed
    return await pair(store, settings, pairing_timeout=pairing_timeout, renewals=renewals)
