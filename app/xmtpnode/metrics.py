"""The node's Prometheus metrics (``GET /metrics``), one registry per application.

A registry per node (not prometheus-client's global one) so that several nodes in one process
— tests, the embedded node beside a standalone one — count separately.  Labels are bounded
sets (route, status code, limit name); never a wallet, topic or address.
"""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

disable_created_metrics()  # type: ignore[no-untyped-call]  # the ``*_created`` series double the output and say little here

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
ROUTES: Final = frozenset(
    {
        "/message/v1/publish",
        "/message/v1/query",
        "/message/v1/batch-query",
        "/message/v1/subscribe",
        "/message/v1/subscribe-all",
        "/healthz",
        "/metrics",
    }
)
_LATENCY_BUCKETS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class NodeMetrics:
    """Counters, gauges and histograms of one node."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "xmtpnode_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "xmtpnode_request_duration_seconds",
            "Time to answer publish, query and batch-query requests.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.open_streams = Gauge(
            "xmtpnode_open_streams", "Subscriptions currently streaming.", registry=self.registry
        )
        self.open_connections = Gauge(
            "xmtpnode_open_connections", "Open client TCP connections.", registry=self.registry
        )
        self.store_errors = Counter(
            "xmtpnode_store_errors", "Storage calls that failed.", registry=self.registry
        )
        self.refusals = Counter(
            "xmtpnode_refusals",
            "Requests, connections and streams refused or cut off for going over a limit.",
            ["limit"],
            registry=self.registry,
        )
        self.queued_stream_bytes = Gauge(
            "xmtpnode_stream_queued_bytes",
            "Envelope bytes waiting for slow subscribers.",
            registry=self.registry,
        )

        self._request_children: dict[tuple[str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}

    def answered(self, path: str, status: int, seconds: float | None) -> None:
        """Count one answer (and its latency, when given) under its route."""
        route = self.route_label(path)
        child = self._request_children.get((route, status))
        if child is None:
            child = self.requests.labels(route=route, code=str(status))
            self._request_children[(route, status)] = child
        child.inc()
        if seconds is not None:
            timer = self._latency_children.get(route)
            if timer is None:
                timer = self._latency_children[route] = self.latency.labels(route=route)
            timer.observe(seconds)

    def route_label(self, path: str) -> str:
        """The route for a label: known routes as they are, anything else ``other``."""
        return path if path in ROUTES else "other"

    def refused(self, limit: str) -> None:
        self.refusals.labels(limit=limit).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
