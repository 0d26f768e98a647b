"""Messages the relay delivers: deduplicated, then handled one at a time in arrival order.

The relay delivers at least once (again after a reconnection, again on fetch), so every
envelope is recognised by ``sha256(message)`` and handed on only the first time.  One
dispatcher task calls the handler, so handlers never race each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass
from typing import Any, Final

from app.walletconnect.constants import METHOD_NOT_FOUND
from app.walletconnect.crypto import message_id
from app.walletconnect.errors import RelayError

log = logging.getLogger(__name__)

DEDUPE_CAPACITY: Final = 4096
"""Message ids remembered to drop redeliveries (oldest forgotten first)."""
MAX_FETCH_ROUNDS: Final = 50
"""Mailbox pages fetched at most in one go (a relay that always says "hasMore" is cut off)."""


@dataclass(frozen=True, slots=True)
class RelayMessage:
    """One envelope the relay delivered on a topic we subscribed to."""

    topic: str
    message: str
    published_at: int
    tag: int


MessageHandler = Callable[[RelayMessage], Awaitable[None]]
RelayCall = Callable[[str, dict[str, Any]], Awaitable[Any]]


class Inbox:
    """``accept`` what the relay delivers; ``start()`` the dispatcher, ``stop()`` it at the end."""

    def __init__(self, handler: MessageHandler, topics: Container[str]) -> None:
        self._handler = handler
        self._topics = topics
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._queue: asyncio.Queue[RelayMessage] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="wc-relay-dispatch")

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._dispatcher

    async def wait_idle(self) -> None:
        """Return once every message accepted so far has been handled."""
        await self._queue.join()

    def accept(self, data: dict[str, Any]) -> None:
        """Queue one delivered message (``irn_subscription`` data or a fetched one), once."""
        topic, message = data.get("topic"), data.get("message")
        if not isinstance(topic, str) or not isinstance(message, str):
            return
        if topic not in self._topics:
            return
        key = message_id(message)
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > DEDUPE_CAPACITY:
            self._seen.popitem(last=False)
        published = data.get("publishedAt")
        tag = data.get("tag")
        self._queue.put_nowait(
            RelayMessage(
                topic=topic,
                message=message,
                published_at=published if isinstance(published, int) else 0,
                tag=tag if isinstance(tag, int) else 0,
            )
        )

    async def fetch(self, topics: list[str], call: RelayCall) -> None:
        """``irn_batchFetchMessages`` through ``call`` until the relay has no more."""
        if not topics:
            return
        for _ in range(MAX_FETCH_ROUNDS):
            result = await call("irn_batchFetchMessages", {"topics": topics})
            if not isinstance(result, dict):
                raise RelayError("irn_batchFetchMessages answered with something else")
            for item in result.get("messages") or []:
                self.accept(item)
            if not result.get("hasMore"):
                return

    def answer_relay_request(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Take a request the relay sent us and return our answer (``None``: no id, no answer).

        ``irn_subscription`` is accepted and acknowledged; any other method is unknown to us.
        """
        answer: dict[str, Any] = {"id": frame.get("id"), "jsonrpc": "2.0"}
        if frame.get("method") == "irn_subscription":
            params = frame.get("params")
            data = params.get("data") if isinstance(params, dict) else None
            if isinstance(data, dict):
                self.accept(data)
            answer["result"] = True
        else:
            answer["error"] = {"code": METHOD_NOT_FOUND, "message": "Method not found"}
        return answer if frame.get("id") is not None else None

    async def _dispatch_loop(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handler(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handling a relay message failed")
            finally:
                self._queue.task_done()
