"""One websocket to the WalletConnect relay: JSON-RPC, subscriptions, and reconnection.

The relay is a pub/sub service with per-topic mailboxes that only ever sees topics and
encrypted envelopes.  ``RelayClient`` keeps a single connection and hides its failures from the
session layer:

* requests are matched to responses by id; a request whose connection drops is sent again on
  the next connection (publishes are idempotent for the peer, which drops redeliveries);
* every ``irn_subscription`` is acknowledged, deduplicated by ``sha256(message)`` and handed to
  one dispatcher task in arrival order, so handlers never race each other;
* after a lost connection it reconnects with exponential backoff, then ``irn_batchSubscribe``s
  every live topic and ``irn_batchFetchMessages`` what arrived meanwhile;
* a relay that refuses us (close code 3000, HTTP 401/403: bad project id or origin) is final:
  retrying would only hide the configuration error from the user.

Websocket pings from the relay are answered by ``websockets`` itself; we ping too, so a dead
connection is noticed within ``ping_interval + ping_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import platform
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from app.keyengine.wallets.walletconnect.crypto import (
    ClientKey,
    message_id,
    new_jwt_subject,
    relay_jwt,
)
from app.keyengine.wallets.walletconnect.errors import (
    ProjectIdMissing,
    RelayError,
    RelayRejected,
    RelayUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_RELAY_URL: Final = "wss://relay.walletconnect.org"
PROJECT_ID_ENV: Final = "XMTP_COMPANION_WC_PROJECT_ID"
USER_AGENT: Final = f"wc-2/python-xmtp-key-companion-1/{platform.system().lower()}/desktop"
REJECTED_CLOSE_CODE: Final = 3000
_DEDUPE_CAPACITY: Final = 4096
_MAX_FETCH_ROUNDS: Final = 50


def resolve_project_id(explicit: str | None = None) -> str:
    """The project id to use: ``explicit`` (settings / CLI), else ``$XMTP_COMPANION_WC_PROJECT_ID``.

    The production relay refuses connections without one (close 3000), so a missing id is
    reported before we try.
    """
    for candidate in (explicit, os.environ.get(PROJECT_ID_ENV)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    raise ProjectIdMissing(
        "no WalletConnect project id: set one in the settings, pass --wc-project-id, "
        f"or set ${PROJECT_ID_ENV} (get one from the Reown dashboard)"
    )


@dataclass(frozen=True, slots=True)
class RelayMessage:
    """One envelope the relay delivered on a topic we subscribed to."""

    topic: str
    message: str
    published_at: int
    tag: int


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """Timings of the relay connection (tests shorten them)."""

    request_timeout: float = 30.0
    """Seconds a relay request may take in total, reconnections included."""
    attempt_timeout: float = 10.0
    """Seconds one attempt waits for the relay's answer before asking again."""
    open_timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0


MessageHandler = Callable[[RelayMessage], Awaitable[None]]
StateHandler = Callable[[str, dict[str, Any]], None]
"""Called with ``("reconnecting", {"attempt", "delay", "reason"})``, ``("reconnected", {})``
or ``("rejected", {"reason"})``."""


class _ConnectionLost(Exception):
    """Internal: the connection a request was sent on is gone; send it again."""


def build_relay_url(relay_url: str, project_id: str, auth: str, user_agent: str) -> str:
    """The relay URL with ``auth``, ``projectId``, ``ua`` and ``useOnCloseEvent`` (sorted)."""
    parts = urlsplit(relay_url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise RelayError(f"relay URL must be ws:// or wss://, got {relay_url!r:.200}")
    query = dict(parse_qsl(parts.query))
    query.update(auth=auth, projectId=project_id, ua=user_agent, useOnCloseEvent="true")
    return urlunsplit(parts._replace(query=urlencode(sorted(query.items()))))


class RelayClient:
    """A self-healing relay connection; ``start()`` once, ``close()`` at the end."""

    def __init__(
        self,
        relay_url: str,
        project_id: str,
        client_key: ClientKey,
        *,
        on_message: MessageHandler,
        on_state: StateHandler | None = None,
        options: RelayOptions | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        build_relay_url(relay_url, project_id, "", user_agent)  # validate early
        self.relay_url = relay_url
        self._project_id = project_id
        self._client_key = client_key
        self._on_message = on_message
        self._on_state = on_state
        self._options = options or RelayOptions()
        self._user_agent = user_agent
        self._jwt_sub = new_jwt_subject()
        self._topics: dict[str, str | None] = {}  # topic -> subscription id (None: not yet)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(random.randrange(1_000_000))  # noqa: S311 - not a secret
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._inbox: asyncio.Queue[RelayMessage] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._fatal: RelayUnavailable | None = None
        self._closed = False

    # -- public API ---------------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        """Our ``did:key`` at the relay."""
        return self._client_key.did

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._topics)

    async def start(self, topics: tuple[str, ...] | list[str] = ()) -> None:
        """Connect, subscribe to ``topics`` and fetch their mailboxes.

        Raises ``RelayUnavailable`` (``RelayRejected``) when the first connection fails: the
        user should hear at once that the relay or the project id is wrong.  Later drops are
        retried until ``close()``.
        """
        if self._runner is not None:
            raise RuntimeError("relay client already started")
        for topic in topics:
            self._topics.setdefault(topic, None)
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="wc-relay-dispatch")
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(first), name="wc-relay-connection")
        try:
            await first
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection and stop every task this client started (idempotent)."""
        self._closed = True
        self._fail_pending(RelayUnavailable("the relay connection was closed"))
        self._wake_waiters()
        current = asyncio.current_task()
        tasks = [t for t in (self._runner, self._dispatcher) if t is not None and t is not current]
        for task in tasks:
            task.cancel()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._connected.clear()

    async def wait_idle(self) -> None:
        """Return once every message received so far has been handled."""
        await self._inbox.join()

    async def subscribe(self, topic: str) -> None:
        """Subscribe to ``topic`` (kept across reconnections until ``unsubscribe``)."""
        self._topics.setdefault(topic, None)
        result = await self.request("irn_subscribe", {"topic": topic})
        if topic in self._topics:
            self._topics[topic] = str(result)

    def track(self, topic: str) -> None:
        """Accept and resubscribe ``topic`` although the relay subscribed us itself
        (``wc_proposeSession`` subscribes the proposer to the pairing topic)."""
        self._topics.setdefault(topic, None)

    async def unsubscribe(self, topic: str) -> None:
        """Forget ``topic``; tell the relay if it knows a subscription id (best effort)."""
        sub_id = self._topics.pop(topic, None)
        if sub_id is not None and self.connected:
            with contextlib.suppress(RelayError):
                await self.request("irn_unsubscribe", {"topic": topic, "id": sub_id}, timeout=5)

    async def publish(
        self,
        topic: str,
        message: str,
        *,
        ttl: int,
        tag: int,
        prompt: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """``irn_publish`` an envelope; returns when the relay stored it."""
        params: dict[str, Any] = {"topic": topic, "message": message, "ttl": ttl, "tag": tag}
        if prompt:
            params["prompt"] = True
        if extra:
            params.update(extra)
        await self.request("irn_publish", params)

    async def fetch_messages(self, topics: list[str]) -> None:
        """``irn_batchFetchMessages`` until the relay has no more; messages go to the handler."""
        await self._fetch(topics, self.request)

    async def _fetch(
        self, topics: list[str], call: Callable[[str, dict[str, Any]], Awaitable[Any]]
    ) -> None:
        if not topics:
            return
        for _ in range(_MAX_FETCH_ROUNDS):
            result = await call("irn_batchFetchMessages", {"topics": topics})
            if not isinstance(result, dict):
                raise RelayError("irn_batchFetchMessages answered with something else")
            for item in result.get("messages") or []:
                self._accept(item)
            if not result.get("hasMore"):
                return

    async def request(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> Any:
        """Send a relay JSON-RPC request and return its result.

        Waits for a connection if there is none; re-sends after a dropped connection; raises
        ``RelayError`` on an error answer or when ``timeout`` (default ``request_timeout``)
        passes, ``RelayUnavailable`` once the client is closed or rejected.
        """
        total = self._options.request_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(total):
                while True:
                    self._raise_if_done()
                    await self._connected.wait()
                    self._raise_if_done()
                    try:
                        return await self._request_once(method, params)
                    except _ConnectionLost:
                        continue
        except TimeoutError:
            self._raise_if_done()
            raise RelayError(f"the relay did not answer {method} in {total:g} s") from None

    # -- one request --------------------------------------------------------------------------

    def _next_id(self) -> str:
        # 19 digits like the JS SDK (ms * 10^6 + counter), sent as a string.
        return str(int(time.time() * 1000) * 1_000_000 + next(self._ids) % 1_000_000)

    async def _request_once(self, method: str, params: dict[str, Any]) -> Any:
        ws = self._ws
        if ws is None:
            raise _ConnectionLost
        request_id = self._next_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            payload = {"id": request_id, "jsonrpc": "2.0", "method": method, "params": params}
            try:
                await ws.send(json.dumps(payload, separators=(",", ":")))
            except ConnectionClosed:
                raise _ConnectionLost from None
            try:
                async with asyncio.timeout(self._options.attempt_timeout):
                    return await future
            except TimeoutError:
                raise _ConnectionLost from None  # ask again (on this or the next connection)
        finally:
            self._pending.pop(request_id, None)
            discard_future(future)

    def _raise_if_done(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._closed:
            raise RelayUnavailable("the relay connection was closed")

    def _wake_waiters(self) -> None:
        """Let requests waiting for a connection see that none will come (closed / rejected):
        ``set`` resolves every current waiter even though we clear the flag at once."""
        if not self._connected.is_set():
            self._connected.set()
            self._connected.clear()

    def _fail_pending(self, error: BaseException) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    # -- connection loop ----------------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        url = build_relay_url(
            self.relay_url,
            self._project_id,
            relay_jwt(self._client_key, sub=self._jwt_sub, aud=self.relay_url),
            self._user_agent,
        )
        try:
            return await connect(
                url,
                open_timeout=self._options.open_timeout,
                ping_interval=self._options.ping_interval,
                ping_timeout=self._options.ping_timeout,
                close_timeout=2,
                max_size=2**22,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise RelayRejected(f"the relay refused the connection (HTTP {status})") from None
            raise RelayUnavailable(f"the relay answered HTTP {status}") from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise RelayUnavailable(f"cannot reach the relay: {type(exc).__name__}") from None

    async def _run(self, first: asyncio.Future[None]) -> None:
        attempt = 0
        reason = ""
        while not self._closed:
            if attempt:
                delay = min(
                    self._options.backoff_max, self._options.backoff_initial * 2 ** (attempt - 1)
                )
                delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
                self._state("reconnecting", attempt=attempt, delay=delay, reason=reason)
                await asyncio.sleep(delay)
            try:
                ws = await self._open()
            except RelayRejected as exc:
                self._reject(exc, first)
                return
            except RelayUnavailable as exc:
                if not first.done():
                    first.set_exception(exc)
                    return
                attempt += 1
                reason = str(exc)
                continue
            self._ws = ws
            reader = asyncio.create_task(self._read(ws), name="wc-relay-reader")
            try:
                self._connected.set()
                await self._resubscribe()
                if not first.done():
                    first.set_result(None)
                elif attempt:
                    self._state("reconnected")
                attempt = 0
                await reader
            except (RelayError, _ConnectionLost) as exc:
                # The connection broke while resubscribing: start over.
                reason = str(exc) or type(exc).__name__
            finally:
                self._connected.clear()
                self._ws = None
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
                with contextlib.suppress(Exception):
                    await ws.close()
                self._fail_pending(_ConnectionLost())
            if ws.close_code == REJECTED_CLOSE_CODE:
                self._reject(RelayRejected(f"the relay refused us: {ws.close_reason}"), first)
                return
            if not first.done():
                first.set_exception(RelayUnavailable("the relay closed the connection"))
                return
            reason = reason or f"connection closed ({ws.close_code})"
            attempt += 1

    def _reject(self, error: RelayRejected, first: asyncio.Future[None]) -> None:
        self._fatal = error
        self._fail_pending(error)
        self._wake_waiters()
        self._state("rejected", reason=str(error))
        if not first.done():
            first.set_exception(error)

    async def _resubscribe(self) -> None:
        topics = list(self._topics)
        if not topics:
            return
        ids = await self._request_once("irn_batchSubscribe", {"topics": topics})
        if isinstance(ids, list) and len(ids) == len(topics):
            for topic, sub_id in zip(topics, ids, strict=True):
                if topic in self._topics:
                    self._topics[topic] = str(sub_id)
        # Called by the connection loop itself: a drop here must surface as _ConnectionLost
        # (handled by the loop), not wait for a reconnection only this loop can make.
        await self._fetch(topics, self._request_once)

    def _state(self, name: str, **data: Any) -> None:
        if self._on_state is not None:
            try:
                self._on_state(name, data)
            except Exception:
                log.exception("relay state handler failed")

    # -- inbound ------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except (ValueError, RecursionError):
                    log.warning("relay sent a frame that is not JSON")
                    continue
                if isinstance(frame, dict):
                    await self._handle_frame(ws, frame)
        except ConnectionClosed:
            pass
        finally:
            # Requests must stop using this connection at once, not after the loop notices.
            if self._ws is ws:
                self._connected.clear()

    async def _handle_frame(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        if "method" in frame:
            method = frame.get("method")
            frame_id = frame.get("id")
            if method == "irn_subscription":
                params = frame.get("params")
                data = params.get("data") if isinstance(params, dict) else None
                if isinstance(data, dict):
                    self._accept(data)
                answer: dict[str, Any] = {"id": frame_id, "jsonrpc": "2.0", "result": True}
            else:
                error = {"code": -32601, "message": "Method not found"}
                answer = {"id": frame_id, "jsonrpc": "2.0", "error": error}
            if frame_id is not None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(json.dumps(answer, separators=(",", ":")))
            return
        future = self._pending.get(str(frame.get("id")))
        if future is None or future.done():
            return
        if "error" in frame:
            error = frame["error"]
            text = error.get("message") if isinstance(error, dict) else error
            future.set_exception(RelayError(f"the relay answered an error: {text!s:.200}"))
        else:
            future.set_result(frame.get("result"))

    def _accept(self, data: dict[str, Any]) -> None:
        topic, message = data.get("topic"), data.get("message")
        if not isinstance(topic, str) or not isinstance(message, str):
            return
        if topic not in self._topics:
            return
        key = message_id(message)
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > _DEDUPE_CAPACITY:
            self._seen.popitem(last=False)
        published = data.get("publishedAt")
        tag = data.get("tag")
        self._inbox.put_nowait(
            RelayMessage(
                topic=topic,
                message=message,
                published_at=published if isinstance(published, int) else 0,
                tag=tag if isinstance(tag, int) else 0,
            )
        )

    async def _dispatch_loop(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._on_message(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handling a relay message failed")
            finally:
                self._inbox.task_done()


def discard_future(future: asyncio.Future[Any]) -> None:
    """Settle a future nobody will await any more (an exception set while we were still
    sending would otherwise be logged as "never retrieved")."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()
