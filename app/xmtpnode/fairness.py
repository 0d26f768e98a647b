"""Fair shares of the store under contention, and flat ceilings per wallet and per address.

Two mechanisms, because they answer two different threats:

* ``FairLane`` — the store serves a bounded number of requests of one kind at once (publishes
  and queries have separate lanes, so queries can never starve publishes).  Requests beyond
  that wait in one queue per client and are admitted round-robin, client by client: when
  the node is idle one client may use all of it, when others wait each gets its turn.  A
  client with too many requests waiting, or a request that waited too long, is refused.
  This is what keeps a team behind one NAT address working while one of them floods.
* ``TokenBuckets`` — sustained rates with bursts (requests per address, envelopes and bytes
  per wallet), the ceilings that hold even when nobody else is waiting.

Both are per process and in memory: event-loop only, no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Final

from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.ready import READY

BURST_SECONDS: Final = 10.0
_MAX_BUCKETS: Final = 100_000
"""Buckets remembered at most; the fullest (least recently drained) are forgotten first."""


class LimitExceeded(ApiError):
    """A refusal for going over a ceiling: RESOURCE_EXHAUSTED (HTTP 429), ``limit`` names it."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(GrpcCode.RESOURCE_EXHAUSTED, message)
        self.limit = limit


class TokenBuckets:
    """One token bucket per key: ``rate`` tokens per second, at most ``capacity`` saved up.

    ``rate == 0`` means unlimited.  Keys are forgotten once their bucket would be full again
    (nothing to remember), and at most ``_MAX_BUCKETS`` are kept.
    """

    def __init__(
        self, name: str, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def spend(self, key: Hashable, cost: float, what: str) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise LimitExceeded (nothing taken)."""
        if self.rate <= 0:
            return
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if cost > tokens:
            self._buckets[key] = (tokens, now)
            raise LimitExceeded(self.name, f"rate limit exceeded: {what}")
        self._buckets[key] = (tokens - cost, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


class _Expired(Exception):
    """A lane ticket that waited ``max_wait_s`` without being admitted."""


def _expire(ticket: asyncio.Future[None]) -> None:
    if not ticket.done():
        ticket.set_exception(_Expired())


class _Turn:
    """The context manager of ``FairLane.turn``.  Entering a lane with a free place creates no
    coroutine: this is every publish's path."""

    __slots__ = ("_key", "_lane")

    def __init__(self, lane: FairLane, key: Hashable) -> None:
        self._lane = lane
        self._key = key

    def __aenter__(self) -> Awaitable[None]:
        lane = self._lane
        if lane.active < lane.concurrency and not lane._waiting:
            lane.active += 1
            return READY
        return lane._acquire(self._key)

    def __aexit__(self, *exc: object) -> Awaitable[None]:
        self._lane._release()
        return READY


class FairLane:
    """At most ``concurrency`` holders at once; waiters admitted round-robin by client key."""

    def __init__(
        self, name: str, concurrency: int, pending_per_client: int, max_wait_s: float
    ) -> None:
        self.name = name
        self.concurrency = max(1, concurrency)
        self.pending_per_client = max(1, pending_per_client)
        self.max_wait_s = max_wait_s
        self.active = 0
        self._waiting: OrderedDict[Hashable, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    def turn(self, key: Hashable) -> _Turn:
        """``async with lane.turn(key):`` holds one of the lane's places for the block."""
        return _Turn(self, key)

    async def _acquire(self, key: Hashable) -> None:
        if self.active < self.concurrency and not self._waiting:
            self.active += 1
            return
        queue = self._waiting.get(key)
        if queue is None:
            queue = self._waiting[key] = deque()
        if len(queue) >= self.pending_per_client:
            raise LimitExceeded(
                f"{self.name}_pending", f"too many {self.name} requests waiting; retry later"
            )
        loop = asyncio.get_running_loop()
        ticket: asyncio.Future[None] = loop.create_future()
        queue.append(ticket)
        # One timer handle, not wait_for + shield (three futures and a task per waiter): this
        # is every publish's path whenever more than ``concurrency`` are in flight.
        timer = loop.call_later(self.max_wait_s, _expire, ticket) if self.max_wait_s else None
        try:
            await ticket
        except BaseException as exc:
            if ticket.done() and not ticket.cancelled() and ticket.exception() is None:
                self._release()  # admitted just as we gave up: pass the place on
            else:
                self._forget(key, ticket)
            if isinstance(exc, _Expired):
                raise LimitExceeded(
                    f"{self.name}_wait", f"the node is busy ({self.name}); retry later"
                ) from None
            raise
        finally:
            if timer is not None:
                timer.cancel()
        # Admitted: the releaser handed its place over, ``active`` already counts us.

    def _forget(self, key: Hashable, ticket: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(ticket)
        if not queue:
            del self._waiting[key]

    def _release(self) -> None:
        """Hand the place to the next waiting client in round-robin order, or free it."""
        while self._waiting:
            key, queue = next(iter(self._waiting.items()))
            ticket = queue.popleft()
            if queue:
                self._waiting.move_to_end(key)
            else:
                del self._waiting[key]
            if not ticket.done():
                ticket.set_result(None)
                return  # ``active`` unchanged: the place changes hands
        self.active -= 1
