"""What the request handlers of one node share: its store, broker, dispatcher, ceilings.

Storage calls block, so they go through the ``StorageDispatcher`` (threads, group commit;
see ``dispatch``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.xmtpnode.admission import Admission
from app.xmtpnode.connections import ConnectionGuard
from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.storage import Storage
from app.xmtpnode.streams import StreamBudget

Clock = Callable[[], int]


@dataclass
class NodeParts:
    """Everything a request handler of one node needs."""

    storage: Storage
    broker: Broker
    dispatcher: StorageDispatcher
    clock: Clock
    """ns since the epoch: decides token expiry (tests move it)."""
    limits: NodeLimits
    admission: Admission
    metrics: NodeMetrics
    budget: StreamBudget
    cors: CorsPolicy
    guard: ConnectionGuard
    stopping: bool = field(default=False)
