"""Every ceiling the node puts on what one client may cost it, with defaults nobody notices.

The node is reachable by anyone (publishing needs only a self-made wallet token, querying and
subscribing need nothing), so every resource a request can consume has a stated ceiling:
descriptors, memory held for slow readers, storage time, stored bytes.  Going over a ceiling is
a typed refusal (gRPC ``RESOURCE_EXHAUSTED``, HTTP 429) or a closed connection, counted in the
metrics and logged at most once per interval.

The defaults are meant for a small team: a person's client never comes near them; a flood
does.  Rate and byte ceilings are per process (several node processes behind one balancer
multiply them by the number of processes; see the README's "Reliability" section).
"""

from __future__ import annotations

import dataclasses
import resource
from dataclasses import dataclass
from typing import Final

MIB: Final = 1024 * 1024
FD_RESERVE_MIN: Final = 64
"""Descriptors kept free for the database, logs and the event loop itself."""


@dataclass(frozen=True, slots=True)
class NodeLimits:
    """Configurable ceilings (``--limit NAME=VALUE``); 0 switches a rate or quota off."""

    max_connections: int = 10_000
    """Open TCP connections in total; lowered at start to fit the descriptor limit."""
    max_connections_per_address: int = 0
    """Open connections per client address; 0 → half of the effective total."""
    header_timeout_s: float = 10.0
    """Time a connection gets to deliver a complete request head (slowloris defence)."""
    idle_timeout_s: float = 60.0
    """Time an idle keep-alive connection is kept open between requests."""
    body_timeout_s: float = 60.0
    """Time a client gets to upload a request body once its head arrived."""
    stream_budget_bytes: int = 16 * MIB
    """Envelope bytes queued for one subscriber that does not read; over it, it is cut off."""
    streams_budget_bytes: int = 256 * MIB
    """Envelope bytes queued for all subscribers together; over it the largest laggard goes."""
    requests_per_address_per_s: float = 500.0
    """Sustained requests per client address (bursts of ten seconds' worth are allowed)."""
    publishes_per_wallet_per_s: float = 100.0
    """Sustained envelopes published per wallet (bursts of ten seconds' worth are allowed)."""
    bytes_per_wallet_per_hour: int = 256 * MIB
    """Message bytes a wallet may publish (stored or relayed) per hour."""
    topics_per_query: int = 1_000
    topics_per_batch: int = 1_000
    """Topics of all the queries of one batch request together."""
    topics_per_subscription: int = 5_000
    publish_concurrency: int = 512
    """Publishes handed to the store at once; the rest wait their turn, client by client.  A
    publish keeps its place until its group has committed, so fewer places than the largest
    group (``dispatch.MAX_GROUP_PUBLISHES``) would only make groups smaller: with 64, 128
    busy clients got a third less throughput."""
    query_concurrency: int = 8
    """Queries handled at once (parsed and handed to the store); a publish never waits behind
    more than this many bounded queries."""
    pending_per_client: int = 128
    """Requests one client (wallet or address) may have waiting for the store."""
    max_wait_s: float = 10.0
    """Longest a request waits for its turn before it is refused as RESOURCE_EXHAUSTED."""

    def with_overrides(self, overrides: dict[str, str]) -> NodeLimits:
        """A copy with ``NAME=VALUE`` settings applied; ValueError names a bad one."""
        fields = {field.name: field for field in dataclasses.fields(self)}
        changes: dict[str, int | float] = {}
        for name, text in overrides.items():
            field = fields.get(name)
            if field is None:
                raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(fields))})")
            try:
                value: int | float = int(text) if field.type in (int, "int") else float(text)
            except ValueError:
                raise ValueError(f"limit {name} needs a number, not {text!r}") from None
            if value < 0:
                raise ValueError(f"limit {name} cannot be negative")
            changes[name] = value
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def fitted_to_descriptors(self, fd_limit: int | None = None) -> NodeLimits:
        """These limits with the connection caps below the process's descriptor limit.

        Read once at start: a node whose connections can exhaust its descriptors can no longer
        accept the request that would have helped (``accept()`` fails in a loop).
        """
        soft = _soft_fd_limit() if fd_limit is None else fd_limit
        total = self.max_connections
        if soft > 0:
            total = min(total, max(1, soft - max(FD_RESERVE_MIN, soft // 8)))
        per_address = self.max_connections_per_address or max(1, total // 2)
        return dataclasses.replace(
            self, max_connections=total, max_connections_per_address=min(per_address, total)
        )


def _soft_fd_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return -1 if soft == resource.RLIM_INFINITY else int(soft)


def parse_limit_setting(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` → (name, value); for argparse."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name.strip().replace("-", "_"), value.strip()
