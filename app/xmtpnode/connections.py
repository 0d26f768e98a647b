"""Connection admission: caps below the descriptor limit, head and idle timeouts, eviction.

Every TCP connection costs a descriptor before it has said anything, so the node decides at
accept time, and again every second, which connections it keeps:

* at most ``max_connections`` in total and ``max_connections_per_address`` per client
  address (both fitted below the descriptor limit at start, see ``limits``);
* when a cap is reached, the connection that has been waiting longest *without a request in
  progress* (never sent a complete head, or idle between requests) is closed to make room —
  so idle floods cost nothing lasting and a real request still gets in; only when every
  connection is busy is the newcomer refused;
* a connection that has not delivered a complete request head within ``header_timeout_s``
  (silent, or dribbling bytes — slowloris) is closed, and so is one idle for longer than
  ``idle_timeout_s`` between requests.

The guard is the ``ConnectionWatcher`` of the node's connections (``http.HttpConnection``):
each tells it every transition.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Final

from app.xmtpnode.http import HttpConnection
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.logs import refusals_log
from app.xmtpnode.metrics import NodeMetrics

_SWEEP_INTERVAL_S: Final = 1.0


class _State(enum.Enum):
    AWAITING_HEAD = "awaiting-head"
    BUSY = "busy"
    IDLE = "idle"


class _Watch:
    """The guard's view of one admitted connection."""

    __slots__ = ("deadline", "state")

    def __init__(self) -> None:
        self.state = _State.AWAITING_HEAD
        self.deadline = 0.0


class ConnectionGuard:
    """Book-keeping of open connections; decides admissions, evictions and timeouts."""

    def __init__(
        self,
        limits: NodeLimits,
        metrics: NodeMetrics,
        trusted: frozenset[str] = frozenset(),
    ) -> None:
        self.limits = limits
        self.metrics = metrics
        self.trusted = trusted
        self._open: dict[HttpConnection, _Watch] = {}
        self._per_address: dict[str, int] = {}
        # Connections without a request in progress, longest waiting first (dicts keep order).
        self._evictable: dict[HttpConnection, _Watch] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._open)

    # --- transitions ----------------------------------------------------------------------

    def admit(self, connection: HttpConnection) -> bool:
        address = connection.peer_address
        if len(self._open) >= self.limits.max_connections and not self._evict_oldest(None):
            return self._refuse(address, "connections")
        if (
            address not in self.trusted
            and self._per_address.get(address, 0) >= self.limits.max_connections_per_address
            and not self._evict_oldest(address)
        ):
            return self._refuse(address, "connections_per_address")
        watch = self._open[connection] = _Watch()
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._set(connection, watch, _State.AWAITING_HEAD, self.limits.header_timeout_s)
        self.metrics.open_connections.set(len(self._open))
        self._ensure_sweeper()
        return True

    def head_started(self, connection: HttpConnection) -> None:
        """First bytes of a new request on an idle keep-alive connection."""
        watch = self._open.get(connection)
        if watch is not None:
            self._set(connection, watch, _State.AWAITING_HEAD, self.limits.header_timeout_s)

    def request_started(self, connection: HttpConnection) -> None:
        watch = self._open.get(connection)
        if watch is not None:
            self._evictable.pop(connection, None)
            watch.state = _State.BUSY

    def request_finished(self, connection: HttpConnection) -> None:
        watch = self._open.get(connection)
        if watch is not None:
            self._set(connection, watch, _State.IDLE, self.limits.idle_timeout_s)

    def release(self, connection: HttpConnection) -> None:
        if self._open.pop(connection, None) is None:
            return
        self._evictable.pop(connection, None)
        address = connection.peer_address
        remaining = self._per_address.get(address, 1) - 1
        if remaining > 0:
            self._per_address[address] = remaining
        else:
            self._per_address.pop(address, None)
        self.metrics.open_connections.set(len(self._open))

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # --- internals ------------------------------------------------------------------------

    def _set(
        self, connection: HttpConnection, watch: _Watch, state: _State, timeout_s: float
    ) -> None:
        # Every request passes here: plain dict operations only.
        evictable = self._evictable
        evictable.pop(connection, None)
        watch.state = state
        watch.deadline = connection.loop.time() + timeout_s
        evictable[connection] = watch

    def _evict_oldest(self, address: str | None) -> bool:
        """Close the longest-waiting connection without a request in progress, if any (of
        ``address`` when given: a scan, but only when a cap is reached)."""
        victim = next(
            (c for c in self._evictable if address is None or c.peer_address == address), None
        )
        if victim is None:
            return False
        self._drop(victim, "evicted_idle")
        return True

    def _drop(self, connection: HttpConnection, reason: str) -> None:
        transport = connection.transport
        self.release(connection)
        self.metrics.refused(reason)
        if transport is not None:
            transport.abort()

    def _refuse(self, address: str, limit: str) -> bool:
        self.metrics.refused(limit)
        refusals_log.warning("refused a connection from %s: %s limit reached", address, limit)
        return False

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(_SWEEP_INTERVAL_S, self._sweep)

    def _sweep(self) -> None:
        """Close connections past their head or idle deadline; reschedule while any remain."""
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        expired = [(c, w) for c, w in self._evictable.items() if w.deadline <= now]
        for connection, watch in expired:
            reason = "header_timeout" if watch.state is _State.AWAITING_HEAD else "idle_timeout"
            self._drop(connection, reason)
        if expired:
            refusals_log.info("closed %d connections past their deadline", len(expired))
        if self._open:
            self._ensure_sweeper()
