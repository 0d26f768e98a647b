"""Delivery of committed publishes to this process's streams.

With a store of one process (SQLite) a committed publish goes straight to the broker.  With a
shared store (PostgreSQL) every process relays what the store announces, from every process,
in commit order; a process's own publish is acknowledged only once its announcement has come
back and been relayed here, so that a client that subscribes after an acknowledgement never
receives that envelope from this process's streams, exactly as with SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Awaitable, Sequence
from typing import Final

from app.xmtpnode.pubsub import Broker
from app.xmtpnode.ready import READY
from app.xmtpnode.storage import Envelope, Listener, Storage

log = logging.getLogger(__name__)

ANNOUNCE_WAIT_S: Final = 5.0
"""Longest wait for an own announcement before acknowledging anyway (the commit is durable)."""
_MAX_EARLY_TAGS: Final = 10_000


class Relay:
    """Committed publishes → ``broker``; for shared stores, through the store's announcements."""

    def __init__(self, storage: Storage, broker: Broker) -> None:
        self.storage = storage
        self.broker = broker
        self._token = secrets.token_hex(6)
        self._numbers = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        # Own announcements that came back before their waiters (oldest first, bounded).
        self._early: dict[str, None] = {}
        self._listener: Listener | None = None
        # True while the listener reconnects: own announcements cannot come back then.
        self._deaf = False

    def next_tag(self) -> str:
        """A tag naming one commit of this process (``Storage.commit``)."""
        return f"{self._token}:{next(self._numbers)}"

    async def start(self) -> None:
        if not self.storage.shared:
            return
        loop = asyncio.get_running_loop()

        def announce(envelopes: list[Envelope], tags: list[str]) -> None:
            loop.call_soon_threadsafe(self._announced, envelopes, tags)

        def lost(listening: bool) -> None:
            loop.call_soon_threadsafe(self._lost, listening)

        self._listener = await asyncio.to_thread(
            self.storage.listen, announce, lambda: len(self.broker) > 0, lost
        )

    def committed(self, relay: Sequence[Envelope], tag: str) -> Awaitable[None]:
        """A publish committed under ``tag`` relaying ``relay``: delivered here once awaited
        (at once with a store of one process: no coroutine on every publish's path)."""
        if not self.storage.shared:
            self.broker.publish(relay)
            return READY
        return self._announced_back(relay, tag)

    async def _announced_back(self, relay: Sequence[Envelope], tag: str) -> None:
        if not relay or self._deaf:
            return  # nothing was announced, or nothing can be heard (streams were ended)
        if tag in self._early:  # kept: the other publishes of the same group look too
            return
        future = self._waiting.get(tag)
        if future is None:
            future = self._waiting[tag] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(future), ANNOUNCE_WAIT_S)
        except TimeoutError:
            log.warning("announcement of commit %s not back after %ss", tag, ANNOUNCE_WAIT_S)
        finally:
            self._waiting.pop(tag, None)

    def _announced(self, envelopes: list[Envelope], tags: list[str]) -> None:
        if envelopes:
            self.broker.publish(envelopes)
        for tag in tags:
            if not tag.startswith(self._token):
                continue
            future = self._waiting.get(tag)
            if future is None:
                self._early[tag] = None
                if len(self._early) > _MAX_EARLY_TAGS:
                    del self._early[next(iter(self._early))]
            elif not future.done():
                future.set_result(None)

    def _lost(self, listening: bool) -> None:
        """Announcements may be missing: end the streams (clients resubscribe and query)."""
        self._deaf = not listening
        self.broker.end_streams()
        for future in self._waiting.values():
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await asyncio.to_thread(listener.close)
        self._lost(False)
