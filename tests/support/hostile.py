"""Helpers of the client-side hostile tests: a lying node, a lying wallet, the CLI as a process.

``HostileNode`` is a real aiohttp server on a loopback port (in its own thread, so a CLI
subprocess can talk to it while the test waits) that answers every query the way one kind of
broken or hostile node would.  ``LyingWallet`` is an HTTP JSON-RPC wallet whose signatures go
wrong in chosen ways.  ``run_cli`` runs ``xmtp-keys`` as a subprocess with a time bound.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.keyengine.wallets import RawKeySigner
from tests.support.paths import REPO_ROOT

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(*argv: str, timeout: float = 30.0, stdin: str | None = None) -> CliRun:
    """``xmtp-keys *argv`` in a fresh interpreter (no OS keyring), killed after ``timeout``."""
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO_ROOT,
        input=stdin,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


class LoopbackServer:
    """An aiohttp application served on 127.0.0.1 (free port) from a background thread."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self._routes = routes
        # A plain selector loop, never the policy's: under qasync (the GUI tests) that would be
        # a Qt event loop, which must not run in another thread.
        self._loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _start(self) -> str:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        for path, handler in self._routes.items():
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# --- a node that lies -------------------------------------------------------------------------

HUGE_BYTES = 100 * 1024 * 1024


def _junk_envelope(topic: str, serial: int) -> dict[str, Any]:
    return {"contentTopic": topic, "timestampNs": str(10**18 + serial), "message": "AAEC"}


async def _huge(request: web.Request) -> web.StreamResponse:
    """100 MB of JSON-looking bytes, streamed without a length (the client must stop early)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * (1024 * 1024)
    try:
        await response.write(b'{"envelopes": [')
        for _ in range(HUGE_BYTES // len(chunk)):
            await response.write(chunk)
        await response.write(b"]}")
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should
    return response


def hostile_query(kind: str) -> Handler:
    """The ``/message/v1/query`` handler of one kind of misbehaving node."""
    serial = 0

    async def answer(request: web.Request) -> web.StreamResponse:
        nonlocal serial
        body = await request.json()
        topic = body.get("contentTopics", ["?"])[0]
        limit = int(body.get("pagingInfo", {}).get("limit") or 100)
        if kind == "not json":
            return web.Response(text="{this is not json", content_type="application/json")
        if kind == "wrong shape":
            bad = {"envelopes": [{"timestampNs": "yesterday", "message": 12}]}
            return web.json_response(bad)
        if kind == "not an object":
            return web.json_response([1, 2, 3])
        if kind == "nested":
            depth = 200_000
            return web.Response(
                text='{"envelopes": ' + "[" * depth + "]" * depth + "}",
                content_type="application/json",
            )
        if kind == "huge integer":
            return web.Response(
                text='{"envelopes": [{"timestampNs": ' + "9" * 5000 + "}]}",
                content_type="application/json",
            )
        if kind == "huge":
            return await _huge(request)
        if kind == "huge declared":
            return web.Response(body=b" " * (20 * 1024 * 1024), content_type="application/json")
        envelopes = []
        for _ in range(limit):
            serial += 1
            envelopes.append(_junk_envelope(topic, serial))
        if kind == "same cursor":
            cursor = {"index": {"digest": "AAAA", "senderTimeNs": "1"}}
        elif kind == "endless cursor":
            cursor = {"index": {"digest": "AAAA", "senderTimeNs": str(serial)}}
        elif kind == "too many envelopes":
            envelopes *= 3
            cursor = None
        else:
            raise AssertionError(kind)
        return web.json_response({"envelopes": envelopes, "pagingInfo": {"cursor": cursor}})

    return answer


async def _publish_ok(request: web.Request) -> web.StreamResponse:
    await request.read()
    return web.json_response({})


@contextmanager
def hostile_node(kind: str) -> Iterator[str]:
    """A node URL whose queries all answer like ``kind``; publishes are accepted."""
    routes = {
        "/message/v1/query": hostile_query(kind),
        "/message/v1/publish": _publish_ok,
        "/message/v1/batch-query": hostile_query(kind),
    }
    with LoopbackServer(routes) as server:
        yield server.url


HOSTILE_KINDS = (
    "not json",
    "wrong shape",
    "not an object",
    "nested",
    "huge integer",
    "huge",
    "huge declared",
    "same cursor",
    "endless cursor",
    "too many envelopes",
)


# --- a wallet that lies -----------------------------------------------------------------------


class LyingWallet:
    """A JSON-RPC wallet (``eth_accounts``, ``eth_getCode``, ``personal_sign``) over HTTP.

    ``stale`` answers: how many of the coming signature requests get the *previous* signature
    (the one of an earlier text) instead of a new one.  ``long_signature``: pad every
    signature to that many bytes, as a contract wallet's EIP-1271/ERC-6492 wrapper is.
    ``code``: what ``eth_getCode`` says is deployed at the account.
    """

    def __init__(self, key: bytes) -> None:
        self.key = RawKeySigner(key)
        self.stale = 0
        self.long_signature = 0
        self.code = "0x"
        self.sign_requests = 0
        self._previous: bytes | None = None

    def _sign(self, text: str) -> bytes:
        self.sign_requests += 1
        fresh = self.key.sign_personal_sync(text)
        if self.stale and self._previous is not None:
            self.stale -= 1
            return self._previous
        self._previous = fresh
        if self.long_signature:
            return fresh + b"\x00" * (self.long_signature - len(fresh))
        return fresh

    def signed_elsewhere(self, text: str) -> None:
        """As if this wallet had just signed ``text`` for another app: the next stale answer."""
        self._previous = self.key.sign_personal_sync(text)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        method, params = body["method"], body.get("params", [])
        if method == "eth_accounts":
            result: Any = [self.key.address]
        elif method == "eth_getCode":
            result = self.code
        elif method == "personal_sign":
            text = bytes.fromhex(params[0][2:]).decode("utf-8")
            result = "0x" + self._sign(text).hex()
        else:
            error = {"code": -32601, "message": f"{method} not supported"}
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "error": error})
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})


@contextmanager
def lying_wallet(key: bytes) -> Iterator[tuple[LyingWallet, str]]:
    wallet = LyingWallet(key)
    with LoopbackServer({"/": wallet.handle}) as server:
        yield wallet, server.url + "/"
