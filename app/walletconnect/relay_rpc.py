"""Our JSON-RPC requests to the relay: ids, sending on one connection, matching the answers.

A request is sent on the current websocket and waits ``attempt_timeout`` for its answer; a
dropped connection or a silent relay raises ``ConnectionLost`` so the caller can send it again
on the next connection (the ids are fresh each time, so a late answer is simply ignored).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.walletconnect.errors import RelayError
from app.walletconnect.tasks import discard_future


class ConnectionLost(Exception):
    """The connection a request was sent on is gone (or the relay was silent): send it again."""


class PendingRequests:
    """Requests sent and not answered yet, by id."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(random.randrange(1_000_000))  # noqa: S311 - not a secret

    def _next_id(self) -> str:
        # 19 digits like the JS SDK (ms * 10^6 + counter), sent as a string.
        return str(int(time.time() * 1000) * 1_000_000 + next(self._ids) % 1_000_000)

    async def send(
        self,
        ws: ClientConnection | None,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float,
    ) -> Any:
        """Send one request on ``ws`` and return its result; ``ConnectionLost`` to retry."""
        if ws is None:
            raise ConnectionLost
        request_id = self._next_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            payload = {"id": request_id, "jsonrpc": "2.0", "method": method, "params": params}
            try:
                await ws.send(json.dumps(payload, separators=(",", ":")))
            except ConnectionClosed:
                raise ConnectionLost from None
            try:
                async with asyncio.timeout(timeout):
                    return await future
            except TimeoutError:
                raise ConnectionLost from None  # ask again (on this or the next connection)
        finally:
            self._pending.pop(request_id, None)
            discard_future(future)

    def resolve(self, frame: dict[str, Any]) -> None:
        """Hand the relay's answer ``frame`` to the request waiting for it (if any)."""
        future = self._pending.get(str(frame.get("id")))
        if future is None or future.done():
            return
        if "error" in frame:
            error = frame["error"]
            text = error.get("message") if isinstance(error, dict) else error
            future.set_exception(RelayError(f"the relay answered an error: {text!s:.200}"))
        else:
            future.set_result(frame.get("result"))

    def fail_all(self, error: BaseException) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
