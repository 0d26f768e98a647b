"""What the request handlers of one node share: the application keys and the storage thread.

SQLite calls are blocking, so they run on one dedicated storage thread per application: the
event loop keeps serving streams while a query runs, and operations reach the database in the
order they were issued (a query sent after a publish completed sees that publish).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, TypeVar

from aiohttp import web

from app.xmtpnode.admission import Admission
from app.xmtpnode.connections import ConnectionGuard
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.limits import NodeLimits
from app.xmtpnode.metrics import NodeMetrics
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.storage import Storage, StorageClosed
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
EXECUTOR_KEY: Final = web.AppKey("executor", ThreadPoolExecutor)
CLOCK_KEY: Final = web.AppKey[Clock]("clock")
PARTS_KEY: Final = web.AppKey("parts", NodeParts)


async def in_storage_thread(request: web.Request, call: Callable[[], T]) -> T:
    """Run a storage call on the storage thread; map storage failures to gRPC statuses."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(request.app[EXECUTOR_KEY], call)
    except StorageClosed:
        raise ApiError(GrpcCode.UNAVAILABLE, "the node is shutting down") from None
    except RuntimeError as exc:  # executor already shut down
        if "shutdown" in str(exc):
            raise ApiError(GrpcCode.UNAVAILABLE, "the node is shutting down") from None
        raise
    except sqlite3.Error:
        request.app[PARTS_KEY].metrics.store_errors.inc()
        log.exception("storage failure")
        raise ApiError(GrpcCode.INTERNAL, "storage failure") from None
