"""One websocket to the WalletConnect relay: JSON-RPC, subscriptions, and reconnection.

The relay is a pub/sub service with per-topic mailboxes that sees only topics and envelopes.
``RelayClient`` keeps one connection and hides its failures from the session layer:

* requests are matched to responses by id (``relay_rpc``); a request whose connection drops
  is sent again on the next connection (the peer drops redelivered publishes);
* every ``irn_subscription`` is acknowledged and handed to the ``Inbox`` (``relay_inbox``),
  which drops redeliveries and calls the handler in arrival order;
* after a lost connection it reconnects with exponential backoff, then ``irn_batchSubscribe``s
  every live topic and ``irn_batchFetchMessages`` what arrived meanwhile;
* a relay that refuses us (close code 3000, HTTP 401/403: bad project id or origin) is final:
  retrying would only hide the configuration error from the user.

``websockets`` answers the relay's pings; we ping too, so a dead connection is noticed within
``ping_interval + ping_timeout`` seconds.  Configuration and the handshake are ``relay_config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.walletconnect.constants import REJECTED_CLOSE_CODE, UNSUBSCRIBE_TIMEOUT
from app.walletconnect.errors import RelayError, RelayRejected, RelayUnavailable
from app.walletconnect.events import Reconnected, Reconnecting, RelayRefused
from app.walletconnect.relay_auth import ClientKey, new_jwt_subject, relay_jwt
from app.walletconnect.relay_config import (
    USER_AGENT,
    RelayOptions,
    build_relay_url,
    open_connection,
)
from app.walletconnect.relay_inbox import Inbox, MessageHandler
from app.walletconnect.relay_rpc import ConnectionLost, PendingRequests

log = logging.getLogger(__name__)

RelayState = Reconnecting | Reconnected | RelayRefused
StateHandler = Callable[[RelayState], None]
"""Told when the connection is lost and retried, comes back, or is refused for good."""


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
        self._on_state = on_state
        self._options = options or RelayOptions()
        self._user_agent = user_agent
        self._jwt_sub = new_jwt_subject()
        self._topics: dict[str, str | None] = {}  # topic -> subscription id (None: not yet)
        self._requests = PendingRequests()
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._inbox = Inbox(on_message, self._topics)
        self._runner: asyncio.Task[None] | None = None
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

        ``RelayUnavailable`` (``RelayRejected``) if the first connection fails: the user hears
        at once that the relay or project id is wrong.  Later drops are retried until ``close()``.
        """
        if self._runner is not None:
            raise RuntimeError("relay client already started")
        for topic in topics:
            self._topics.setdefault(topic, None)
        self._inbox.start()
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
        self._requests.fail_all(RelayUnavailable("the relay connection was closed"))
        self._wake_waiters()
        current = asyncio.current_task()
        running = (self._runner, self._inbox.task)
        tasks = [t for t in running if t is not None and t is not current]
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
        await self._inbox.wait_idle()

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
                await self.request(
                    "irn_unsubscribe", {"topic": topic, "id": sub_id}, timeout=UNSUBSCRIBE_TIMEOUT
                )

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
        await self._inbox.fetch(topics, self.request)

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
                    except ConnectionLost:
                        continue
        except TimeoutError:
            self._raise_if_done()
            raise RelayError(f"the relay did not answer {method} in {total:g} s") from None

    async def _request_once(self, method: str, params: dict[str, Any]) -> Any:
        timeout = self._options.attempt_timeout
        return await self._requests.send(self._ws, method, params, timeout=timeout)

    def _raise_if_done(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._closed:
            raise RelayUnavailable("the relay connection was closed")

    def _wake_waiters(self) -> None:
        """Wake requests waiting for a connection that will not come (closed / rejected)."""
        if not self._connected.is_set():
            self._connected.set()
            self._connected.clear()

    # -- connection loop ----------------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        auth = relay_jwt(self._client_key, sub=self._jwt_sub, aud=self.relay_url)
        url = build_relay_url(self.relay_url, self._project_id, auth, self._user_agent)
        return await open_connection(url, self._options)

    async def _run(self, first: asyncio.Future[None]) -> None:
        attempt = 0
        reason = ""
        while not self._closed:
            if attempt:
                delay = min(
                    self._options.backoff_max, self._options.backoff_initial * 2 ** (attempt - 1)
                )
                delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
                self._state(Reconnecting(attempt=attempt, delay=delay, reason=reason))
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
                    self._state(Reconnected())
                attempt = 0
                await reader
            except (RelayError, ConnectionLost) as exc:
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
                self._requests.fail_all(ConnectionLost())
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
        self._requests.fail_all(error)
        self._wake_waiters()
        self._state(RelayRefused(str(error)))
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
        # Called by the connection loop itself: a drop here must surface as ConnectionLost
        # (handled by the loop), not wait for a reconnection only this loop can make.
        await self._inbox.fetch(topics, self._request_once)

    def _state(self, event: RelayState) -> None:
        if self._on_state is not None:
            try:
                self._on_state(event)
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
            answer = self._inbox.answer_relay_request(frame)
            if answer is not None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(json.dumps(answer, separators=(",", ":")))
            return
        self._requests.resolve(frame)
