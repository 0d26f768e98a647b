"""The node's HTTP front: the XMTP message API v1 REST routes (grpc-gateway conventions).

Routes (all POST, body = the whole request): ``/message/v1/publish``, ``/message/v1/query``,
``/message/v1/batch-query``, ``/message/v1/subscribe`` and ``/message/v1/subscribe-all``
(newline-delimited ``{"result": <Envelope>}`` streams); ``GET /healthz`` and ``GET /metrics``
for operators; CORS on every route.  Rules live in ``rules``, encoding in ``codec``, ceilings
in ``limits``/``admission``/``connections``/``streams``, storage behind the ``Storage``
interface; this module wires them to aiohttp.

Storage calls block, so they run on threads (``dispatch``): publishes are committed in groups
and acknowledged only once committed, so a query sent after a publish completed sees it.  With
a shared store (PostgreSQL, several node processes) streams carry what the store announces
from every process, in commit order, instead of what this process wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from app.xmtpnode import codec, ops, routes, rules, streams
from app.xmtpnode.admission import Admission
from app.xmtpnode.connections import ConnectionGuard, GuardedHandler
from app.xmtpnode.context import (
    BROKER_KEY,
    CLOCK_KEY,
    DISPATCHER_KEY,
    PARTS_KEY,
    STORAGE_KEY,
    Clock,
    NodeParts,
)
from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.fairness import LimitExceeded
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.logs import refusals_log
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.storage import Envelope, Storage, open_storage

__all__ = ["Clock", "NodeServer", "ServeOptions", "create_app", "serve"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
"""Largest request body (grpc-go's default receive limit); enough for a maximal message in
JSON (1,048,214 bytes → 1.4 MB of base64) plus a few more envelopes."""
SHUTDOWN_TIMEOUT_S: Final = 5.0
"""How long in-flight requests get to finish once the node has been told to stop."""
_TIMED_ROUTES: Final = frozenset(
    {"/message/v1/publish", "/message/v1/query", "/message/v1/batch-query"}
)


def create_app(
    storage: Storage,
    *,
    clock: Clock = time.time_ns,
    limits: NodeLimits | None = None,
    cors: ops.CorsPolicy | None = None,
    trusted_proxies: frozenset[str] = frozenset(),
    group_commit: bool = True,
) -> web.Application:
    """The node as an aiohttp application over ``storage`` (which the caller keeps owning).

    ``clock`` (ns since the epoch) decides token expiry; tests can move it.  ``limits``
    defaults to ``NodeLimits()`` fitted to this process's descriptor limit.  ``group_commit``
    False commits each publish alone (benchmarks compare both).
    """
    fitted = (limits or NodeLimits()).fitted_to_descriptors()
    metrics = NodeMetrics()
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[STORAGE_KEY] = storage
    app[BROKER_KEY] = Broker()
    app[DISPATCHER_KEY] = StorageDispatcher(
        storage, keep=_is_durable, group_commit=group_commit, on_error=metrics.store_errors.inc
    )
    app[CLOCK_KEY] = clock
    policy = cors or ops.CorsPolicy()
    app[PARTS_KEY] = NodeParts(
        limits=fitted,
        admission=Admission(fitted, trusted_proxies),
        metrics=metrics,
        budget=streams.StreamBudget(
            fitted.stream_budget_bytes, fitted.streams_budget_bytes, metrics
        ),
        cors=policy,
        guard=ConnectionGuard(fitted, metrics, trusted_proxies, policy),
    )
    parts = app[PARTS_KEY]
    routes.add_routes(app, lambda handler: _front(parts, handler))
    app.router.add_route("*", "/{path:.*}", _front(parts, _unrouted))
    app.on_startup.append(_start_listening)
    app.on_shutdown.append(_close_streams)
    app.on_cleanup.append(_stop_storage_threads)
    return app


def _is_durable(envelope: Envelope) -> bool:
    return not rules.is_ephemeral(envelope.topic)


async def _start_listening(app: web.Application) -> None:
    await app[DISPATCHER_KEY].start(app[BROKER_KEY])


async def _close_streams(app: web.Application) -> None:
    """End open subscriptions so shutdown does not wait for clients that never hang up."""
    app[PARTS_KEY].stopping = True
    app[BROKER_KEY].close()


async def _stop_storage_threads(app: web.Application) -> None:
    app[PARTS_KEY].guard.close()
    await app[DISPATCHER_KEY].close()


# --- middlewares --------------------------------------------------------------------------

_HTTP_TO_GRPC: Final = {
    400: GrpcCode.INVALID_ARGUMENT,
    401: GrpcCode.UNAUTHENTICATED,
    403: GrpcCode.PERMISSION_DENIED,
    404: GrpcCode.NOT_FOUND,
    405: GrpcCode.UNIMPLEMENTED,
    413: GrpcCode.RESOURCE_EXHAUSTED,
}


def _error_response(error: ApiError) -> web.Response:
    response = web.Response(
        status=error.http_status,
        body=codec.dumps(error.body()),
        content_type=codec.JSON_CONTENT_TYPE,
        charset="utf-8",
    )
    if error.code is GrpcCode.DEADLINE_EXCEEDED:
        response.force_close()  # the rest of the body is not worth waiting for
    return response


def _front(parts: NodeParts, handler: ops.Handler) -> ops.Handler:
    """``handler`` with what every route needs around it: connection state for the guard,
    failures as grpc-gateway's error JSON, metrics, CORS headers.

    A wrapper applied when the routes are added, not aiohttp middlewares and a prepare
    signal: those layers cost every request more than the rest of a publish does.
    """
    metrics, cors = parts.metrics, parts.cors

    async def answer(request: web.Request) -> web.StreamResponse:
        protocol = request.protocol
        guarded = protocol if isinstance(protocol, GuardedHandler) else None
        if guarded is not None:
            guarded.guard.request_started(guarded)
        started = time.perf_counter()
        try:
            try:
                response = await handler(request)
            except Exception as exc:
                response = _failure_response(request, exc)
            if not response.prepared:  # streams add theirs before they start
                cors.decorate(request, response)
            path = request.path
            timed = time.perf_counter() - started if path in _TIMED_ROUTES else None
            metrics.answered(path, response.status, timed)
            return response
        finally:
            if guarded is not None:
                guarded.guard.request_finished(guarded)

    return answer


async def _unrouted(request: web.Request) -> web.StreamResponse:
    """Any other path or method: CORS preflights answered, the rest 405 or 404."""
    if ops.is_preflight(request):
        return request.app[PARTS_KEY].cors.preflight()
    allowed = {
        route.method
        for resource in request.app.router.resources()
        if resource.canonical == request.path
        for route in resource
    }
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, sorted(allowed))
    raise web.HTTPNotFound()


def _failure_response(request: web.Request, failure: Exception) -> web.StreamResponse:
    """Every failure becomes grpc-gateway's ``{"code", "message", "details": []}`` JSON;
    redirects and other non-error HTTP exceptions are raised on."""
    match failure:
        case LimitExceeded() as refusal:
            request.app[PARTS_KEY].metrics.refused(refusal.limit)
            refusals_log.warning("refused a request from %s: %s", request.remote, refusal.limit)
            return _error_response(refusal)
        case ApiError() as error:
            return _error_response(error)
        case web.HTTPException() as exc if exc.status >= 400:
            code = _HTTP_TO_GRPC.get(exc.status, GrpcCode.INTERNAL)
            status = 405 if exc.status == 405 else None
            return _error_response(ApiError(code, exc.reason, http_status=status))
        case web.HTTPException():
            raise failure
    log.error("internal error handling %s", request.path, exc_info=failure)
    return _error_response(ApiError(GrpcCode.INTERNAL, "internal error"))


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServeOptions:
    """How a node serves, beyond host, port and storage (``node serve`` flags)."""

    limits: NodeLimits = field(default_factory=NodeLimits)
    cors: ops.CorsPolicy = field(default_factory=ops.CorsPolicy)
    trusted_proxies: frozenset[str] = frozenset()


class NodeServer:
    """A node bound to a TCP port on the current event loop: ``await start()`` → URL."""

    def __init__(
        self,
        storage: Storage,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time_ns,
        owns_storage: bool = False,
        options: ServeOptions | None = None,
        group_commit: bool = True,
    ) -> None:
        self.storage = storage
        self.host = host
        self.port = port
        options = options or ServeOptions()
        self.app = create_app(
            storage,
            clock=clock,
            limits=options.limits,
            cors=options.cors,
            trusted_proxies=options.trusted_proxies,
            group_commit=group_commit,
        )
        self._owns_storage = owns_storage
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self.url: str | None = None

    @classmethod
    def open(
        cls,
        db_path: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time_ns,
        options: ServeOptions | None = None,
        group_commit: bool = True,
    ) -> NodeServer:
        """A node over a SQLite file (or ``":memory:"``) or a ``postgresql://`` URL, which it
        closes on ``stop()``."""
        return cls(
            open_storage(db_path),
            host=host,
            port=port,
            clock=clock,
            owns_storage=True,
            options=options,
            group_commit=group_commit,
        )

    @property
    def broker(self) -> Broker:
        return self.app[BROKER_KEY]

    @property
    def parts(self) -> NodeParts:
        return self.app[PARTS_KEY]

    async def start(self) -> str:
        """Bind and serve; return the base URL with the actual port (``port=0`` → any).

        The listening socket is ours rather than an aiohttp site's so that every connection
        goes through ``GuardedHandler`` (admission, timeouts, parse errors as JSON).
        """
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        if runner.server is None:
            raise RuntimeError("the aiohttp runner has no server after setup()")
        limits = self.parts.limits
        factory = functools.partial(
            GuardedHandler,
            runner.server,
            self.parts.guard,
            loop=asyncio.get_running_loop(),
            keepalive_timeout=limits.idle_timeout_s,
            access_log=None,
        )
        try:
            sock = _listening_socket(self.host, self.port)
            self._listener = await asyncio.get_running_loop().create_server(
                factory, sock=sock, backlog=_ACCEPT_BATCH
            )
            sock.listen(_BACKLOG)  # asyncio listened with the batch size; widen the queue again
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(self._listener.sockets[0].getsockname()[1])
        self.url = f"http://{_url_host(self.host)}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests, end streams, close owned storage."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        try:
            if listener is not None:
                listener.close()
            if runner is not None:
                await runner.cleanup()
        finally:
            if self._owns_storage:
                self.storage.close()


_BACKLOG: Final = 4096
"""Pending connections the kernel queues for us (clamped to net.core.somaxconn): a burst of
connects must not overflow it, or a real client's SYN is dropped and waits a second."""
_ACCEPT_BATCH: Final = 32
"""Connections asyncio accepts per loop iteration.  Closing an evicted connection frees its
descriptor only on the next iteration, so this many may exist beyond the connection cap; the
descriptor reserve of ``limits`` (at least 64) covers them."""


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    try:
        socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        return host
    return f"[{host}]"


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    db_path: str | os.PathLike[str] = ":memory:",
    *,
    clock: Clock = time.time_ns,
    options: ServeOptions | None = None,
) -> AsyncIterator[str]:
    """Serve a node on the running loop for the duration of the block; yields its base URL.

    ``async with serve(port=0, db_path="node.sqlite3") as url: ...``
    """
    node = NodeServer.open(db_path, host=host, port=port, clock=clock, options=options)
    try:
        url = await node.start()
    except BaseException:
        node.storage.close()
        raise
    try:
        yield url
    finally:
        await node.stop()
