"""Subscription streams with a byte budget: a reader that stops reading cannot pin memory.

Each stream moves envelopes from its broker subscription into its own outbox as soon as they
are published, and writes them out as fast as the client reads.  The outbox counts the bytes
it holds (envelopes waiting, plus the one being written); over ``stream_budget_bytes`` the
subscriber is cut off (its connection closed: the SDKs resubscribe and query, as the protocol
expects), and when all outboxes together exceed ``streams_budget_bytes`` the one holding the
most goes first.  Memory held for a subscriber is released the moment it is cut off or leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Final

from app.xmtpnode import codec, shapes
from app.xmtpnode.http import Request, StreamResponse
from app.xmtpnode.logs import refusals_log
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.pubsub import Broker, Subscription
from app.xmtpnode.storage import Envelope

_DISCONNECT_POLL_S: Final = 1.0


def _size(envelope: Envelope) -> int:
    return len(envelope.message) + len(envelope.topic) + 64


class Outbox:
    """Envelopes waiting for one subscriber, with their byte count."""

    def __init__(self, budget: StreamBudget, cut_off: Callable[[], None]) -> None:
        self._budget = budget
        self._cut_off = cut_off
        self._queue: deque[Envelope] = deque()
        self._ready = asyncio.Event()
        self.queued_bytes = 0
        self._in_flight = 0
        self.finished = False
        self.cut = False

    def put(self, envelope: Envelope) -> None:
        if self.finished:
            return
        size = _size(envelope)
        self._queue.append(envelope)
        self._count(size)
        self._ready.set()
        if self.queued_bytes > self._budget.per_stream:
            self.cut_off("stream_budget")
        else:
            self._budget.check_total()

    async def take(self) -> Envelope | None:
        """The next envelope to write (its bytes stay counted until the next take)."""
        self._count(-self._in_flight)
        self._in_flight = 0
        while not self._queue:
            if self.finished:
                return None
            self._ready.clear()
            await self._ready.wait()
        envelope = self._queue.popleft()
        self._in_flight = _size(envelope)
        return envelope

    def finish(self) -> None:
        """No more envelopes will come; what is queued is still written."""
        self.finished = True
        self._ready.set()

    def cut_off(self, reason: str) -> None:
        """Drop everything and close the subscriber's connection."""
        if self.cut:
            return
        self.cut = True
        self._budget.metrics.refused(reason)
        refusals_log.warning("cut off a subscriber that stopped reading (%s)", reason)
        self.release()
        self._cut_off()

    def release(self) -> None:
        self.finished = True
        self._queue.clear()
        self._count(-self.queued_bytes)
        self._in_flight = 0
        self._ready.set()
        self._budget.outboxes.discard(self)

    def _count(self, delta: int) -> None:
        self.queued_bytes += delta
        self._budget.queued_bytes += delta
        self._budget.metrics.queued_stream_bytes.set(self._budget.queued_bytes)


class StreamBudget:
    """The byte budgets of all the streams of one node."""

    def __init__(self, per_stream: int, total: int, metrics: NodeMetrics) -> None:
        self.per_stream = per_stream if per_stream > 0 else 2**62
        self.total = total if total > 0 else 2**62
        self.metrics = metrics
        self.queued_bytes = 0
        self.outboxes: set[Outbox] = set()

    def open(self, cut_off: Callable[[], None]) -> Outbox:
        outbox = Outbox(self, cut_off)
        self.outboxes.add(outbox)
        return outbox

    def check_total(self) -> None:
        while self.queued_bytes > self.total and self.outboxes:
            max(self.outboxes, key=lambda o: o.queued_bytes).cut_off("streams_budget")


def _line(envelope: Envelope) -> bytes:
    return codec.dumps({"result": shapes.envelope_json(envelope)}) + b"\n"


async def stream(
    request: Request,
    topics: list[str] | None,
    broker: Broker,
    budget: StreamBudget,
    cors: CorsPolicy,
) -> StreamResponse:
    """Stream envelopes as NDJSON until the client leaves, falls behind, or the node stops.

    The subscription is registered before the response headers go out, so a client that has
    seen the headers is guaranteed to receive everything published afterwards.  Always JSON
    lines, also for protobuf requests (there is no delimited-protobuf convention to follow).
    """
    subscription = broker.subscribe(topics)
    transport = request.transport

    def cut_off() -> None:
        if transport is not None:
            transport.abort()

    outbox = budget.open(cut_off)
    pump = asyncio.create_task(_pump(request, subscription, outbox))
    response = StreamResponse(request, content_type=codec.JSON_CONTENT_TYPE)
    budget.metrics.open_streams.inc()
    try:
        cors.decorate(request.headers, response)
        await response.prepare()
        while (envelope := await outbox.take()) is not None:
            await response.write(_line(envelope))
        if not outbox.cut:
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
    except ConnectionError:
        pass  # the client went away (or was cut off) mid-write
    finally:
        pump.cancel()
        outbox.release()
        broker.unsubscribe(subscription)
        budget.metrics.open_streams.dec()
    return response


async def _pump(request: Request, subscription: Subscription, outbox: Outbox) -> None:
    """Move envelopes from the subscription to the outbox until either side ends.

    Handlers are not cancelled when a client disconnects, so an idle stream checks its
    transport now and then instead of lingering until the next matching publish.
    """
    try:
        while not outbox.finished:
            try:
                envelope = await subscription.next(timeout=_DISCONNECT_POLL_S)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                continue
            if envelope is None:
                return
            outbox.put(envelope)
    finally:
        outbox.finish()
