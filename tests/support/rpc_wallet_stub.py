"""TEST FIXTURE: a loopback HTTP JSON-RPC wallet whose answers each test chooses.

A fake only for what a real wallet cannot be made to do on demand: a person declining
(``4001``), an answer that never comes, malformed answers.  Signing itself is tested against
the real Hardhat node.  The default answer signs with a fixed development key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from app.keyengine.wallets import RawKeySigner

Answer = Callable[[str, list[Any]], Any]
"""``(method, params)`` -> the JSON-RPC answer's ``result``/``error`` part (or a response, or an
awaitable of either)."""

STUB_KEY = bytes.fromhex("44" * 32)


class StubWallet:
    """``calls`` records every method asked; ``answer`` decides what is answered."""

    def __init__(self) -> None:
        self.key = RawKeySigner(STUB_KEY)
        self.calls: list[str] = []
        self.answer: Answer = self.sign_normally
        self.url = ""
        self.arrived = asyncio.Event()
        """Set when a ``personal_sign`` arrives (cleared by whoever waits for the next one)."""
        self.release = asyncio.Event()
        """Set at shutdown: answers held back by ``hold`` end then."""

    def sign_normally(self, method: str, params: list[Any]) -> Any:
        if method == "eth_accounts":
            return {"result": [self.key.address.lower()]}
        if method == "eth_getCode":
            return {"result": "0x"}  # an ordinary account: no contract code
        text = bytes.fromhex(params[0][2:]).decode("utf-8")
        return {"result": "0x" + self.key.sign_personal_sync(text).hex()}

    def decline(self, method: str, params: list[Any]) -> Any:
        """What a wallet answers when its user says no (EIP-1193 4001)."""
        if method in ("eth_accounts", "eth_getCode"):
            return self.sign_normally(method, params)
        return {"error": {"code": 4001, "message": "User rejected the request."}}

    def hold(self, method: str, params: list[Any]) -> Any:
        """Never answer ``personal_sign`` (a user who walked away), until shutdown."""
        if method in ("eth_accounts", "eth_getCode"):
            return self.sign_normally(method, params)

        async def wait() -> Any:
            await self.release.wait()
            return {"error": {"code": -32000, "message": "wallet closed"}}

        return wait()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(body["method"])
        if body["method"] == "personal_sign":
            self.arrived.set()
        answer = self.answer(body["method"], body["params"])
        if isinstance(answer, Awaitable):
            answer = await answer
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], **answer})


@asynccontextmanager
async def running_stub() -> AsyncIterator[StubWallet]:
    """A ``StubWallet`` listening on a free loopback port for the ``with`` block."""
    wallet = StubWallet()
    app = web.Application()
    app.router.add_post("/", wallet.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    wallet.url = f"http://127.0.0.1:{port}/"
    try:
        yield wallet
    finally:
        wallet.release.set()
        await runner.cleanup()
