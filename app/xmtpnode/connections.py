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

``GuardedHandler`` is aiohttp's request handler with these hooks, and with parse errors
(oversized headers, malformed request lines) answered as grpc-gateway error JSON with one log
line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from app.xmtpnode import codec
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.logs import refusals_log
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.ops import CorsPolicy

_SWEEP_INTERVAL_S: Final = 1.0


class _State(enum.Enum):
    AWAITING_HEAD = "awaiting-head"
    BUSY = "busy"
    IDLE = "idle"


class GuardedHandler(RequestHandler):
    """aiohttp's per-connection protocol, reporting to a ``ConnectionGuard``."""

    def __init__(self, manager: web.Server, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.guard = guard
        self.peer_address = ""
        self.state = _State.AWAITING_HEAD
        self.deadline = 0.0
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self.guard.admit(self, transport) and isinstance(transport, asyncio.Transport):
            transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.state is _State.IDLE:
            self.guard.head_started(self)
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard.release(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse: error JSON, one (rate-limited) log line."""
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        reason = message or (str(exc) if exc else "bad request")
        code = GrpcCode.INVALID_ARGUMENT if status < 500 else GrpcCode.INTERNAL
        refusals_log.warning(
            "refused an unparsable request from %s: %s", self.peer_address, reason[:200]
        )
        self.guard.metrics.answered("", status, None)
        error = ApiError(code, "malformed HTTP request" if status < 500 else "internal error")
        response = web.Response(
            status=400 if status < 500 else 500,
            body=codec.dumps(error.body()),
            content_type=codec.JSON_CONTENT_TYPE,
            charset="utf-8",
        )
        allowed = self.guard.cors.allow_origin(request.headers.get("Origin"))
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
        response.force_close()
        return response


class ConnectionGuard:
    """Book-keeping of open connections; decides admissions, evictions and timeouts."""

    def __init__(
        self,
        limits: NodeLimits,
        metrics: NodeMetrics,
        trusted: frozenset[str] = frozenset(),
        cors: CorsPolicy | None = None,
    ) -> None:
        self.limits = limits
        self.metrics = metrics
        self.trusted = trusted
        self.cors = cors or CorsPolicy()
        self._open: dict[GuardedHandler, None] = {}
        self._per_address: dict[str, int] = {}
        # Connections without a request in progress, longest waiting first (dicts keep order).
        self._evictable: dict[GuardedHandler, None] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._open)

    # --- transitions ----------------------------------------------------------------------

    def admit(self, handler: GuardedHandler, transport: asyncio.BaseTransport) -> bool:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        handler.peer_address = address
        if len(self._open) >= self.limits.max_connections and not self._evict_oldest(None):
            return self._refuse(address, "connections")
        if (
            address not in self.trusted
            and self._per_address.get(address, 0) >= self.limits.max_connections_per_address
            and not self._evict_oldest(address)
        ):
            return self._refuse(address, "connections_per_address")
        handler.admitted = True
        self._open[handler] = None
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._set(handler, _State.AWAITING_HEAD, self.limits.header_timeout_s)
        self.metrics.open_connections.set(len(self._open))
        self._ensure_sweeper()
        return True

    def head_started(self, handler: GuardedHandler) -> None:
        """First bytes of a new request on an idle keep-alive connection."""
        if handler.admitted:
            self._set(handler, _State.AWAITING_HEAD, self.limits.header_timeout_s)

    def request_started(self, handler: GuardedHandler) -> None:
        if handler.admitted:
            self._unmark(handler)
            handler.state = _State.BUSY

    def request_finished(self, handler: GuardedHandler) -> None:
        if handler.admitted:
            self._set(handler, _State.IDLE, self.limits.idle_timeout_s)

    def release(self, handler: GuardedHandler) -> None:
        if not handler.admitted:
            return
        handler.admitted = False
        self._unmark(handler)
        self._open.pop(handler, None)
        address = handler.peer_address
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

    def _set(self, handler: GuardedHandler, state: _State, timeout_s: float) -> None:
        # Every request passes here twice: plain dict operations only.
        evictable = self._evictable
        evictable.pop(handler, None)
        handler.state = state
        handler.deadline = asyncio.get_running_loop().time() + timeout_s
        evictable[handler] = None

    def _unmark(self, handler: GuardedHandler) -> None:
        self._evictable.pop(handler, None)

    def _evict_oldest(self, address: str | None) -> bool:
        """Close the longest-waiting connection without a request in progress, if any (of
        ``address`` when given: a scan, but only when a cap is reached)."""
        victim = next(
            (h for h in self._evictable if address is None or h.peer_address == address), None
        )
        if victim is None:
            return False
        self._drop(victim, "evicted_idle")
        return True

    def _drop(self, handler: GuardedHandler, reason: str) -> None:
        transport = handler.transport
        self.release(handler)
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
        expired = [h for h in self._evictable if h.deadline <= now]
        for handler in expired:
            reason = "header_timeout" if handler.state is _State.AWAITING_HEAD else "idle_timeout"
            self._drop(handler, reason)
        if expired:
            refusals_log.info("closed %d connections past their deadline", len(expired))
        if self._open:
            self._ensure_sweeper()
