"""What the request handlers of one node share: the application keys and the storage calls.

Storage calls block, so they go through the application's ``StorageDispatcher`` (threads,
group commit; see ``dispatch``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from aiohttp import web

from app.xmtpnode.admission import Admission
from app.xmtpnode.connections import ConnectionGuard
from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.storage import Storage
from app.xmtpnode.streams import StreamBudget

log = logging.getLogger("app.xmtpnode.server")

Clock = Callable[[], int]
T = TypeVar("T")


@dataclass
class NodeParts:
    """Everything a request handler needs besides storage, broker and clock, per application."""

    limits: NodeLimits
    admission: Admission
    metrics: NodeMetrics
    budget: StreamBudget
    cors: CorsPolicy
    guard: ConnectionGuard
    stopping: bool = field(default=False)


STORAGE_KEY: Final = web.AppKey("storage", Storage)
BROKER_KEY: Final = web.AppKey("broker", Broker)
DISPATCHER_KEY: Final = web.AppKey("dispatcher", StorageDispatcher)
CLOCK_KEY: Final = web.AppKey[Clock]("clock")
PARTS_KEY: Final = web.AppKey("parts", NodeParts)


async def in_storage_thread(request: web.Request, call: Callable[[], T]) -> T:
    """Run a read-only storage call off the loop; storage failures become gRPC statuses."""
    return await request.app[DISPATCHER_KEY].read(call)
