"""The node's Prometheus metrics (``GET /metrics``), one registry per application.

A registry per node (not prometheus-client's global one) so that several nodes in one process
— tests, the embedded node beside a standalone one — count separately.  Labels are bounded
sets (route, status code, limit name); never a wallet, topic or address.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Metric,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

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
        self._answers = _AnswerTally()
        self.registry.register(self._answers)
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

    def answered(self, path: str, status: int, seconds: float | None) -> None:
        """Count one answer (and its latency, when given) under its route."""
        self._answers.add(self.route_label(path), status, seconds)

    def route_label(self, path: str) -> str:
        """The route for a label: known routes as they are, anything else ``other``."""
        return path if path in ROUTES else "other"

    def refused(self, limit: str) -> None:
        self.refusals.labels(limit=limit).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _AnswerTally(Collector):
    """Requests by route and code, and latencies by route, as plain counts.

    Every request is counted; prometheus-client's Counter and Histogram take a lock and walk
    the buckets in Python on each one (3 % of a publish).  The tally is kept on the event loop
    (the only writer) and turned into metric families when ``/metrics`` is read.
    """

    def __init__(self) -> None:
        self._answers: dict[tuple[str, int], int] = {}
        # route → (count per bucket, not cumulative; +Inf last), sum of seconds
        self._latency: dict[str, tuple[list[int], list[float]]] = {}

    def add(self, route: str, status: int, seconds: float | None) -> None:
        key = (route, status)
        self._answers[key] = self._answers.get(key, 0) + 1
        if seconds is None:
            return
        timed = self._latency.get(route)
        if timed is None:
            timed = self._latency[route] = ([0] * (len(_LATENCY_BUCKETS) + 1), [0.0])
        timed[0][bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        timed[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "xmtpnode_requests",
            "HTTP requests answered, by route and status code.",
            labels=["route", "code"],
        )
        for (route, status), count in sorted(self._answers.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "xmtpnode_request_duration_seconds",
            "Time to answer publish, query and batch-query requests.",
            labels=["route"],
        )
        bounds = [*(str(bound) for bound in _LATENCY_BUCKETS), "+Inf"]
        for route, (counts, total) in sorted(self._latency.items()):
            latency.add_metric(
                [route], list(zip(bounds, itertools.accumulate(counts), strict=True)), total[0]
            )
        yield latency
