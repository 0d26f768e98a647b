"""The dApp side of WalletConnect v2 Sign: one relay connection, at most one live session.

``WalletConnectClient`` wires three parts together and routes what the relay delivers:

* ``pairing.Pairing``: proposal, approval and settle (a new session);
* ``live_session.LiveSession``: requests, ping, extend, update, delete and expiry;
* inbound dispatch (here): a message on the live session's topic goes to the session, one on a
  pairing or settle topic to the pairing; the relay's own state changes (reconnecting,
  refused) become events and fail what can no longer succeed.

Every task the client starts is tracked and cancelled by ``close()``; cancelling any public
coroutine cleans up what it registered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from app.walletconnect.constants import DEFAULT_RELAY_URL, PAIRING_TTL, PING_TIMEOUT, REQUEST_TTL
from app.walletconnect.errors import RelayRejected, WalletConnectError
from app.walletconnect.events import EventHandler, Reconnected, Reconnecting, RelayRefused
from app.walletconnect.live_session import LiveSession
from app.walletconnect.pairing import Pairing, Proposal
from app.walletconnect.peer_link import PeerLink
from app.walletconnect.relay import RelayClient, RelayState
from app.walletconnect.relay_config import RelayOptions
from app.walletconnect.relay_inbox import RelayMessage
from app.walletconnect.session import DEFAULT_CHAINS, AppMetadata, Session
from app.walletconnect.store import SessionStore


class WalletConnectClient:
    """One relay connection and at most one active session."""

    def __init__(
        self,
        store: SessionStore,
        *,
        project_id: str,
        metadata: AppMetadata,
        relay_url: str = DEFAULT_RELAY_URL,
        chains: Sequence[str] = DEFAULT_CHAINS,
        on_event: EventHandler | None = None,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
        propose_with_relay_method: bool = False,
    ) -> None:
        self._project_id = project_id
        self._relay_url = relay_url
        self._relay_options = relay_options
        self._link = PeerLink(store, chains=tuple(chains), clock=clock, on_event=on_event)
        self._live = LiveSession(self._link)
        self._pairing = Pairing(
            self._link,
            metadata=metadata,
            adopt=self._live.adopt,
            live_topic=lambda: self._live.topic,
            propose_with_relay_method=propose_with_relay_method,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        """The active session, or ``None`` (never connected, deleted or expired)."""
        return self._live.session

    @property
    def relay(self) -> RelayClient:
        return self._link.relay

    @property
    def pending_requests(self) -> int:
        """Requests sent to the wallet and not answered yet."""
        return self._live.pending_count

    async def start(self, session: Session | None = None) -> None:
        """Connect to the relay, resuming ``session`` if given.

        The session topic's mailbox is fetched and handled before this returns, so a delete the
        wallet sent while we were away has already ended the session (``session`` is then
        ``None``).
        """
        if self._link.started:
            raise WalletConnectError("the WalletConnect client is already started")
        client_key = await self._link.run_store(self._link.store.client_key)
        relay = RelayClient(
            self._relay_url,
            self._project_id,
            client_key,
            on_message=self._on_message,
            on_state=self._on_relay_state,
            options=self._relay_options,
        )
        self._link.attach(relay)
        topics = []
        if session is not None and await self._live.resume(session):
            topics.append(session.topic)
        await relay.start(topics)
        await relay.wait_idle()
        self._live.arm()

    async def close(self) -> None:
        """Stop everything (the stored session stays for the next start).  Idempotent."""
        closed = WalletConnectError("the WalletConnect client was closed")
        self._live.close(closed)
        self._pairing.fail_all(closed)
        self._pairing.clear()
        await self._link.tasks.close()
        if self._link.started:
            await self._link.relay.close()

    # -- the two halves -----------------------------------------------------------------------

    async def propose(self, *, ttl: float = PAIRING_TTL) -> Proposal:
        """Create a pairing and publish a session proposal on it; valid ``ttl`` seconds."""
        return await self._pairing.propose(ttl=ttl)

    def live_session(self) -> Session:
        """The active session; ``NoSession`` / ``SessionExpired`` (and dropped) otherwise."""
        return self._live.current()

    async def request(self, method: str, params: list[Any], *, ttl: float = REQUEST_TTL) -> Any:
        """Send ``wc_sessionRequest`` on the live session and return the wallet's result."""
        return await self._live.request(method, params, ttl=ttl)

    async def ping(self, *, timeout: float = PING_TIMEOUT) -> bool:
        """``True`` if the wallet answered a ``wc_sessionPing`` within ``timeout`` seconds."""
        return await self._live.ping(timeout=timeout)

    async def disconnect(self) -> None:
        """Delete the session from our side: tell the wallet (best effort), then forget it."""
        await self._live.disconnect()

    # -- inbound dispatch ---------------------------------------------------------------------

    async def _on_message(self, message: RelayMessage) -> None:
        session = self._live.session
        if session is not None and message.topic == session.topic:
            await self._live.on_message(self._link.open(session.sym_key, message))
        else:
            await self._pairing.on_message(message)

    def _on_relay_state(self, event: RelayState) -> None:
        match event:
            case RelayRefused(reason=reason):
                error = RelayRejected(reason)
                self._live.fail_pending(error)
                self._pairing.fail_all(error)
            case Reconnecting() | Reconnected():
                pass
        self._link.emit(event)
