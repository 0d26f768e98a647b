"""Who is asking, and may they: the client address, rate ceilings, and turns at the store.

Publishes are charged to their wallet (envelopes per second, bytes per hour) and to the
client address (requests per second); queries and subscriptions, which need no token, to the
address alone.  Behind a reverse proxy every peer is the proxy, so the address comes from
``X-Forwarded-For`` when — and only when — the peer is a trusted proxy (``--trust-proxy``).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.xmtpnode.fairness import BURST_SECONDS, FairLane, TokenBuckets
from app.xmtpnode.http import Request
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.storage import Envelope

_HOUR_S = 3600.0


class Admission:
    """The per-process ceilings of one node (see ``limits.NodeLimits`` for their meaning)."""

    def __init__(self, limits: NodeLimits, trusted_proxies: frozenset[str] = frozenset()) -> None:
        self.limits = limits
        self.trusted_proxies = trusted_proxies
        self.address_requests = TokenBuckets(
            "requests_per_address",
            limits.requests_per_address_per_s,
            limits.requests_per_address_per_s * BURST_SECONDS,
        )
        self.wallet_publishes = TokenBuckets(
            "publishes_per_wallet",
            limits.publishes_per_wallet_per_s,
            limits.publishes_per_wallet_per_s * BURST_SECONDS,
        )
        self.wallet_bytes = TokenBuckets(
            "bytes_per_wallet",
            limits.bytes_per_wallet_per_hour / _HOUR_S,
            float(limits.bytes_per_wallet_per_hour),
        )
        lane_settings = (limits.pending_per_client, limits.max_wait_s)
        self.publish_lane = FairLane("publish", limits.publish_concurrency, *lane_settings)
        self.query_lane = FairLane("query", limits.query_concurrency, *lane_settings)

    def client_address(self, request: Request) -> str:
        """The client's IP: the TCP peer, or the forwarded client behind a trusted proxy."""
        peer = request.remote or "unknown"
        if peer in self.trusted_proxies:
            forwarded = request.headers.get("x-forwarded-for", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            # The proxy appends the peer it saw; earlier hops are the client's own claims.
            if hops:
                return hops[-1]
        return peer

    def admit_request(self, request: Request) -> str:
        """Charge one request to its address; return the address.  Raises LimitExceeded."""
        address = self.client_address(request)
        self.address_requests.spend(address, 1, "too many requests from this address")
        return address

    def admit_publish(self, wallet: str, envelopes: Sequence[Envelope]) -> None:
        """Charge a validated publish to its wallet (envelopes, then bytes).  LimitExceeded."""
        if not envelopes:
            return
        self.wallet_publishes.spend(wallet, len(envelopes), "too many publishes by this wallet")
        size = sum(len(envelope.message) for envelope in envelopes)
        self.wallet_bytes.spend(wallet, size, "this wallet published too many bytes this hour")
