"""Waiting on a condition instead of sleeping a fixed time.

A fixed sleep is either too short on a loaded machine (a flaky test) or longer than needed
(a slow one).  ``wait_until`` polls the condition itself and fails with ``TimeoutError`` after
a generous bound, so a hang is reported rather than waited out.  GUI tests use pytest-qt's
``qtbot.waitUntil`` instead, which also pumps Qt's event loop while it waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

DEFAULT_TIMEOUT_S: Final = 10.0
POLL_INTERVAL_S: Final = 0.005


def wait_until(
    condition: Callable[[], object], timeout: float = DEFAULT_TIMEOUT_S, what: str = ""
) -> None:
    """Block until ``condition()`` is true; ``TimeoutError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not true within {timeout} s: {what or condition}")
        time.sleep(POLL_INTERVAL_S)


async def async_wait_until(
    condition: Callable[[], object], timeout: float = DEFAULT_TIMEOUT_S, what: str = ""
) -> None:
    """``wait_until`` for coroutines: the event loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not true within {timeout} s: {what or condition}")
        await asyncio.sleep(POLL_INTERVAL_S)
