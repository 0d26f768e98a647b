"""The node's HTTP front: the XMTP message API v1 REST routes (grpc-gateway conventions).

Routes (all POST, body = the whole request): ``/message/v1/publish``, ``/message/v1/query``,
``/message/v1/batch-query``, ``/message/v1/subscribe`` and ``/message/v1/subscribe-all``
(newline-delimited ``{"result": <Envelope>}`` streams); ``GET /healthz`` and ``GET /metrics``
for operators; CORS on every route.  Rules live in ``rules``, encoding in ``codec``, ceilings
in ``limits``/``admission``/``connections``/``streams``, storage behind the ``Storage``
interface, HTTP in ``http``, answers and errors in ``front``; this module assembles a node and
runs it.

Storage calls block, so they run on threads (``dispatch``): publishes are committed in groups
and acknowledged only once committed, so a query sent after a publish completed sees it.  With
a shared store (PostgreSQL, several node processes) streams carry what the store announces
from every process, in commit order, instead of what this process wrote.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

from app.xmtpnode import ops, rules, streams
from app.xmtpnode.admission import Admission
from app.xmtpnode.connections import ConnectionGuard
from app.xmtpnode.context import Clock, NodeParts
from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.front import NodeFront
from app.xmtpnode.http import HttpListener
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.storage import Envelope, Storage, open_storage

__all__ = ["Clock", "NodeServer", "ServeOptions", "node_parts", "serve"]

SHUTDOWN_TIMEOUT_S: Final = 5.0
"""How long in-flight requests get to finish once the node has been told to stop."""


@dataclass(frozen=True)
class ServeOptions:
    """How a node serves, beyond host, port and storage (``node serve`` flags)."""

    limits: NodeLimits = field(default_factory=NodeLimits)
    cors: ops.CorsPolicy = field(default_factory=ops.CorsPolicy)
    trusted_proxies: frozenset[str] = frozenset()


def node_parts(
    storage: Storage,
    *,
    clock: Clock = time.time_ns,
    options: ServeOptions | None = None,
    group_commit: bool = True,
) -> NodeParts:
    """A node's parts over ``storage`` (which the caller keeps owning).

    ``clock`` (ns since the epoch) decides token expiry; tests can move it.  The limits are
    fitted to this process's descriptor limit.  ``group_commit`` False commits each publish
    alone (benchmarks compare both).
    """
    options = options or ServeOptions()
    fitted = options.limits.fitted_to_descriptors()
    metrics = NodeMetrics()
    return NodeParts(
        storage=storage,
        broker=Broker(),
        dispatcher=StorageDispatcher(
            storage, keep=_is_durable, group_commit=group_commit, on_error=metrics.store_errors.inc
        ),
        clock=clock,
        limits=fitted,
        admission=Admission(fitted, options.trusted_proxies),
        metrics=metrics,
        budget=streams.StreamBudget(
            fitted.stream_budget_bytes, fitted.streams_budget_bytes, metrics
        ),
        cors=options.cors,
        guard=ConnectionGuard(fitted, metrics, options.trusted_proxies),
    )


def _is_durable(envelope: Envelope) -> bool:
    return not rules.is_ephemeral(envelope.topic)


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
        self.parts = node_parts(storage, clock=clock, options=options, group_commit=group_commit)
        self._owns_storage = owns_storage
        self._listener: HttpListener | None = None
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
        return self.parts.broker

    async def start(self) -> str:
        """Bind and serve; return the base URL with the actual port (``port=0`` → any)."""
        await self.parts.dispatcher.start(self.parts.broker)
        listener = HttpListener(NodeFront(self.parts), self.parts.guard, self.host, self.port)
        try:
            self.port = await listener.start()
        except BaseException:
            await self._stop_parts()
            raise
        self._listener = listener
        self.url = f"http://{_url_host(self.host)}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Stop accepting, end streams, finish in-flight requests (up to
        ``SHUTDOWN_TIMEOUT_S``), stop the storage threads, close owned storage."""
        listener, self._listener = self._listener, None
        try:
            if listener is not None:
                listener.stop_accepting()
                # Streams end first: shutdown must not wait for clients that never hang up.
                self.parts.stopping = True
                self.parts.broker.close()
                await listener.close(SHUTDOWN_TIMEOUT_S)
                await self._stop_parts()
        finally:
            if self._owns_storage:
                self.storage.close()

    async def _stop_parts(self) -> None:
        self.parts.guard.close()
        await self.parts.dispatcher.close()


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
