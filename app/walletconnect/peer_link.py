"""What the pairing and the live session share: the relay, the session store, events, tasks.

Both halves of the client talk to the same peer wallet through the same relay connection, answer
its requests the same way and persist to the same store; ``PeerLink`` is that common ground, so
neither half reaches into the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from app.walletconnect.constants import (
    DELETE_SEND_TIMEOUT,
    LONG_RELAY_TTL,
    METHOD_NOT_FOUND,
    RESPONSE_TAGS,
    UNSUBSCRIBE_TIMEOUT,
    Tag,
)
from app.walletconnect.crypto import open_json, seal_json
from app.walletconnect.errors import EnvelopeError, RelayError, WalletConnectError
from app.walletconnect.events import EventHandler, WalletConnectEvent, emit
from app.walletconnect.relay import RelayClient
from app.walletconnect.relay_inbox import RelayMessage
from app.walletconnect.session import response, session_delete
from app.walletconnect.store import SessionStore
from app.walletconnect.tasks import BackgroundTasks

log = logging.getLogger(__name__)

T = TypeVar("T")


class PeerLink:
    """The relay connection (once attached), the store, the event handler and background tasks."""

    def __init__(
        self,
        store: SessionStore,
        *,
        chains: tuple[str, ...],
        clock: Callable[[], float],
        on_event: EventHandler | None,
    ) -> None:
        self.store = store
        self.chains = chains
        self.clock = clock
        self._on_event = on_event
        self.tasks = BackgroundTasks()
        self._relay: RelayClient | None = None
        self._store_lock = asyncio.Lock()

    @property
    def relay(self) -> RelayClient:
        if self._relay is None:
            raise WalletConnectError("the WalletConnect client is not started")
        return self._relay

    @property
    def started(self) -> bool:
        return self._relay is not None

    def attach(self, relay: RelayClient) -> None:
        if self._relay is not None:
            raise WalletConnectError("the WalletConnect client is already started")
        self._relay = relay

    def emit(self, event: WalletConnectEvent) -> None:
        emit(self._on_event, event)

    async def run_store(self, function: Callable[..., T], *args: Any) -> T:
        """Store calls run in a thread (a keyring may block), one at a time."""
        async with self._store_lock:
            return await asyncio.to_thread(function, *args)

    @staticmethod
    def open(sym_key: bytes, message: RelayMessage) -> dict[str, Any] | None:
        """The payload of a delivered envelope, or ``None`` (logged) when it does not open."""
        try:
            return open_json(sym_key, message.message)
        except EnvelopeError as exc:
            log.warning("dropping an undecryptable message on %s: %s", message.topic[:8], exc)
            return None

    def reply(
        self,
        topic: str,
        sym_key: bytes,
        request: dict[str, Any],
        *,
        method: str,
        result: Any = None,
        error: tuple[int, str] | None = None,
    ) -> None:
        """Answer a peer request in the background (never blocks message handling)."""
        tag, ttl = RESPONSE_TAGS.get(method, (Tag.UNKNOWN, LONG_RELAY_TTL))
        envelope = seal_json(sym_key, response(request, result=result, error=error))

        async def send() -> None:
            with contextlib.suppress(RelayError):
                await self.relay.publish(topic, envelope, ttl=ttl, tag=tag)

        self.tasks.spawn(send())

    def reply_unknown(self, topic: str, sym_key: bytes, request: dict[str, Any]) -> None:
        """Answer a request of a method we do not know (notifications get no answer)."""
        if "id" in request:
            error = (METHOD_NOT_FOUND, "Method not supported")
            self.reply(topic, sym_key, request, method="", error=error)

    async def unsubscribe(self, topic: str) -> None:
        """Stop listening on ``topic`` (best effort: it is forgotten locally either way)."""
        if self._relay is not None:
            with contextlib.suppress(RelayError, TimeoutError):
                async with asyncio.timeout(UNSUBSCRIBE_TIMEOUT):
                    await self._relay.unsubscribe(topic)

    async def send_delete(self, topic: str, sym_key: bytes, message: str) -> None:
        """Tell the wallet the session on ``topic`` is over; give up after a few seconds."""
        envelope = seal_json(sym_key, session_delete(message))
        with contextlib.suppress(RelayError, TimeoutError):
            async with asyncio.timeout(DELETE_SEND_TIMEOUT):
                await self.relay.publish(topic, envelope, ttl=LONG_RELAY_TTL, tag=Tag.DELETE)
