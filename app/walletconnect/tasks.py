"""Background tasks and futures of the client: every task tracked, every future settled.

A protocol client starts small tasks (answers, unsubscribes, deletes) that nobody awaits; they
must all stop when the client closes, and a future nobody awaits any more must not be logged as
"exception never retrieved".  ``BackgroundTasks`` and ``discard_future`` are the one way the
package does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


def discard_future(future: asyncio.Future[Any]) -> None:
    """Settle a future nobody will await any more (an exception set while we were still
    sending would otherwise be logged as "never retrieved")."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()


class BackgroundTasks:
    """Fire-and-forget tasks that ``close()`` cancels and awaits; failures are logged."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` in the background (dropped unstarted once closed)."""
        if self._closed:
            coroutine.close()
            return
        task: asyncio.Task[Any] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("WalletConnect background task failed: %r", exc)

    async def close(self) -> None:
        """Cancel every task (except the caller's own) and wait for them to end."""
        self._closed = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
