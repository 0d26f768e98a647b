"""Live relay of published envelopes to open subscriptions (one event loop, no threads).

Each subscription owns a bounded queue.  Publishing never waits for a subscriber: a client that
stops reading until its queue is full is cut off (its stream ends) rather than letting memory
grow without bound; SDKs reconnect and catch up with a query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Final

from app.xmtpnode.storage import Envelope

DEFAULT_QUEUE_SIZE: Final = 1024


class Subscription:
    """Envelopes for one subscriber: a set of topics, or every topic when ``topics`` is None."""

    def __init__(self, topics: Iterable[str] | None, queue_size: int) -> None:
        self.topics: frozenset[str] | None = None if topics is None else frozenset(topics)
        self._queue: asyncio.Queue[Envelope | None] = asyncio.Queue(queue_size + 1)
        self._capacity = queue_size
        self.closed = False

    def wants(self, envelope: Envelope) -> bool:
        return self.topics is None or envelope.topic in self.topics

    def offer(self, envelope: Envelope) -> None:
        """Queue an envelope; close the subscription instead if the reader fell too far behind."""
        if self.closed:
            return
        if self._queue.qsize() >= self._capacity:
            self.close()
            return
        self._queue.put_nowait(envelope)

    def close(self) -> None:
        """End the stream after what is already queued (the slot kept free holds the marker)."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def next(self, timeout: float | None = None) -> Envelope | None:
        """The next envelope; None once closed.  Raises TimeoutError after ``timeout`` seconds."""
        if timeout is None:
            return await self._queue.get()
        return await asyncio.wait_for(self._queue.get(), timeout)


class Broker:
    """Fan-out of published envelopes to the subscriptions that want them."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._subscriptions: set[Subscription] = set()
        self._queue_size = queue_size
        self._closed = False

    def subscribe(self, topics: Iterable[str] | None) -> Subscription:
        subscription = Subscription(topics, self._queue_size)
        if self._closed:
            subscription.close()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        subscription.close()

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not self._subscriptions:
            return
        for subscription in list(self._subscriptions):
            for envelope in envelopes:
                if subscription.wants(envelope):
                    subscription.offer(envelope)
            if subscription.closed:
                self._subscriptions.discard(subscription)

    def end_streams(self) -> None:
        """End every open stream but keep accepting new ones (live delivery had a gap)."""
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()

    def close(self) -> None:
        """End every open stream (server shutdown) and refuse new subscriptions."""
        self._closed = True
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()

    def __len__(self) -> int:
        return len(self._subscriptions)
