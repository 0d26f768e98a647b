"""Loopback WalletConnect v2 relay for interop tests (shared/protocol/walletconnect-v2.md §1.6, §3).

Only what the 2.25 JS SDKs (``@walletconnect/sign-client``, ``@reown/walletkit`` 1.6.0) and a
Python dApp need, on ``ws://127.0.0.1:<port>``:

* JSON-RPC ``irn_subscribe``/``irn_batchSubscribe``/``irn_unsubscribe``/``irn_batchUnsubscribe``,
  ``irn_publish``/``irn_batchPublish``, ``irn_fetchMessages``/``irn_batchFetchMessages``, and the
  "Sign 2.5" methods ``wc_proposeSession`` (subscribes the sender to the pairing topic and stores
  the proposal, tag 1100) and ``wc_approveSession`` (subscribes the sender to the session topic,
  stores the proposal response on the pairing topic (1101) and the settle request on the session
  topic (1102)).  Request ids are echoed exactly as they arrive (the SDK sends 19-digit strings).
* A per-topic mailbox with ttl: every message is delivered once to every subscribed client except
  its publisher (no echo), pushed as ``irn_subscription`` and again on (re)subscribe or fetch
  until the client acknowledged it.  Clients are identified by the ``iss`` of their relay JWT, so
  mailbox state survives a reconnect as on the production relay.
* ``attestation: ""`` in every ``irn_subscription`` without one, so the JS wallet skips the
  Verify API (no network call).
* Server pings every ``ping_interval`` seconds (the Node SDK drops a socket that saw no ping for
  35 s).
* The relay JWT (``auth`` query parameter) is checked: EdDSA signature over the did:key, ``exp``;
  failures close the socket with code 3000 as the production relay does.  ``projectId`` must be
  present.

Tests use it as ``async with WcTestRelay() as relay: relay.url``; ``relay.frames`` records all
traffic as ``("in"|"out", client_id, frame)`` for assertions.  Standalone:
``python -m tests.interop.wc_test_relay --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("wc_test_relay")

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_MULTICODEC = b"\xed\x01"
DID_KEY_PREFIX = "did:key:z"


class AuthError(Exception):
    """The relay JWT is missing or invalid."""


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + B58_ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_relay_jwt(token: str, now: float | None = None) -> dict[str, Any]:
    """Check a relay auth JWT (spec §1.5) and return its payload; raise ``AuthError``."""
    try:
        header_b64, payload_b64, sig_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        payload = json.loads(_b64url_decode(payload_b64))
        signature = _b64url_decode(sig_b64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError(f"malformed JWT: {exc}") from exc
    if header.get("alg") != "EdDSA":
        raise AuthError(f"unexpected alg {header.get('alg')!r}")
    iss = payload.get("iss", "")
    if not isinstance(iss, str) or not iss.startswith(DID_KEY_PREFIX):
        raise AuthError(f"iss is not a did:key: {iss!r}")
    try:
        decoded = b58decode(iss[len(DID_KEY_PREFIX) :])
    except ValueError as exc:
        raise AuthError("iss is not base58btc") from exc
    if len(decoded) != 34 or not decoded.startswith(ED25519_MULTICODEC):
        raise AuthError("iss is not an Ed25519 did:key")
    try:
        Ed25519PublicKey.from_public_bytes(decoded[2:]).verify(
            signature, f"{header_b64}.{payload_b64}".encode("ascii")
        )
    except InvalidSignature as exc:
        raise AuthError("bad JWT signature") from exc
    exp = payload.get("exp")
    if not isinstance(exp, int) or exp < (now if now is not None else time.time()):
        raise AuthError("JWT expired or without exp")
    return dict(payload)


@dataclass
class Message:
    topic: str
    message: str
    tag: int
    published_at: int  # ms
    expires_at: float  # s
    publisher: str
    attestation: str = ""
    acked_by: set[str] = field(default_factory=set)

    def wire(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "message": self.message,
            "publishedAt": self.published_at,
            "tag": self.tag,
            "attestation": self.attestation,
        }


@dataclass
class Client:
    client_id: str
    connection: ServerConnection | None = None
    # relay-request id -> Message waiting for the client's ack of its irn_subscription
    inflight: dict[int, Message] = field(default_factory=dict)


def subscription_id(topic: str, client_id: str) -> str:
    # The same value the JS SDK computes locally (sha256(topic + clientId)).
    return hashlib.sha256((topic + client_id).encode()).hexdigest()


class WcTestRelay:
    """A loopback relay; start with ``async with`` or ``await relay.start()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ping_interval: float | None = 20.0,
        check_auth: bool = True,
        max_ttl: int = 7 * 86400,
    ) -> None:
        self.host = host
        self.port = port
        self.ping_interval = ping_interval
        self.check_auth = check_auth
        self.max_ttl = max_ttl
        self.frames: list[tuple[str, str, dict[str, Any]]] = []
        self.auth_failures: list[str] = []
        self.on_frame: Callable[[str, str, dict[str, Any]], None] | None = None
        self._server: Server | None = None
        self._clients: dict[str, Client] = {}
        self._subs: dict[str, set[str]] = {}  # topic -> client ids
        self._mailbox: dict[str, list[Message]] = {}
        self._ids = itertools.count(int(time.time() * 1000) * 1000)
        self._anon = itertools.count(1)

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> WcTestRelay:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            max_size=2**22,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        log.info("relay listening on %s", self.url)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> WcTestRelay:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- fault injection / inspection ---------------------------------------------------------
    async def drop_connections(self, code: int = 1012, reason: str = "test restart") -> None:
        """Close every client socket (clients are expected to reconnect and resubscribe)."""
        for client in list(self._clients.values()):
            if client.connection is not None:
                await client.connection.close(code, reason)

    def connected_clients(self) -> list[str]:
        return [c.client_id for c in self._clients.values() if c.connection is not None]

    def methods_seen(self, client_id: str | None = None) -> list[str]:
        return [
            f["method"]
            for direction, cid, f in self.frames
            if direction == "in" and "method" in f and (client_id is None or cid == client_id)
        ]

    def published(self, tag: int | None = None) -> list[dict[str, Any]]:
        """``irn_publish`` params (any client), optionally only those with ``tag``."""
        out = []
        for direction, _cid, f in self.frames:
            if direction != "in":
                continue
            params = f.get("params") or {}
            if f.get("method") == "irn_publish":
                items = [params]
            elif f.get("method") == "irn_batchPublish":
                items = params.get("messages", [])
            else:
                continue
            out.extend(p for p in items if tag is None or p.get("tag") == tag)
        return out

    # --- connection handling ------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "/").query)
        client_id = f"anonymous-{next(self._anon)}"
        try:
            if self.check_auth:
                if not query.get("projectId", [""])[0]:
                    raise AuthError("Project ID is missing")
                token = query.get("auth", [""])[0]
                if not token:
                    raise AuthError("auth is missing")
                client_id = verify_relay_jwt(token)["iss"]
            elif query.get("auth"):
                with contextlib.suppress(AuthError):
                    client_id = verify_relay_jwt(query["auth"][0])["iss"]
        except AuthError as exc:
            self.auth_failures.append(str(exc))
            log.warning("auth failure: %s", exc)
            await ws.close(3000, f"Unauthorized: {exc}"[:120])
            return

        client = self._clients.setdefault(client_id, Client(client_id))
        previous = client.connection
        client.connection = ws
        client.inflight.clear()
        if previous is not None:
            await previous.close(1000, "replaced by a newer connection")
        log.info("client connected: %s", client_id)
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("non-JSON frame from %s: %r", client_id, raw[:200])
                    continue
                self._record("in", client_id, frame)
                if "method" in frame:
                    reply = await self._dispatch(client, frame)
                    if reply is not None:
                        await self._send(client, reply)
                else:
                    self._on_ack(client, frame)
        except ConnectionClosed:
            pass
        finally:
            if client.connection is ws:
                client.connection = None
                client.inflight.clear()
            log.info("client disconnected: %s", client_id)

    def _record(self, direction: str, client_id: str, frame: dict[str, Any]) -> None:
        self.frames.append((direction, client_id, frame))
        if self.on_frame is not None:
            self.on_frame(direction, client_id, frame)

    async def _send(self, client: Client, frame: dict[str, Any]) -> None:
        if client.connection is None:
            return
        self._record("out", client.client_id, frame)
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(json.dumps(frame))

    def _on_ack(self, client: Client, frame: dict[str, Any]) -> None:
        message = client.inflight.pop(frame.get("id"), None)  # type: ignore[arg-type]
        if message is not None and "result" in frame:
            message.acked_by.add(client.client_id)

    # --- mailbox ----------------------------------------------------------------------------
    def _live(self, topic: str) -> list[Message]:
        now = time.time()
        box = [m for m in self._mailbox.get(topic, []) if m.expires_at > now]
        self._mailbox[topic] = box
        return box

    def _pending_for(self, client: Client, topic: str) -> list[Message]:
        return [
            m
            for m in self._live(topic)
            if m.publisher != client.client_id and client.client_id not in m.acked_by
        ]

    async def _deliver(self, client: Client, message: Message) -> None:
        if client.connection is None or any(m is message for m in client.inflight.values()):
            return
        relay_id = next(self._ids)
        client.inflight[relay_id] = message
        await self._send(
            client,
            {
                "id": relay_id,
                "jsonrpc": "2.0",
                "method": "irn_subscription",
                "params": {
                    "id": subscription_id(message.topic, client.client_id),
                    "data": message.wire(),
                },
            },
        )

    async def _store(
        self, publisher: str, topic: str, message: str, tag: int, ttl: int, attestation: Any
    ) -> None:
        if not isinstance(topic, str) or not topic or not isinstance(message, str) or not message:
            raise ValueError("topic and message are required")
        ttl = max(1, min(int(ttl or 300), self.max_ttl))
        msg = Message(
            topic=topic,
            message=message,
            tag=int(tag or 0),
            published_at=int(time.time() * 1000),
            expires_at=time.time() + ttl,
            publisher=publisher,
            attestation=attestation if isinstance(attestation, str) else "",
        )
        box = self._live(topic)
        if any(m.message == message for m in box):
            return  # the same ciphertext again (a publish retry): keep one copy
        box.append(msg)
        for cid in list(self._subs.get(topic, ())):
            if cid != publisher and cid in self._clients:
                await self._deliver(self._clients[cid], msg)

    async def _subscribe(self, client: Client, topic: str) -> str:
        if not isinstance(topic, str) or not topic:
            raise ValueError("topic is required")
        self._subs.setdefault(topic, set()).add(client.client_id)
        for message in self._pending_for(client, topic):
            await self._deliver(client, message)
        return subscription_id(topic, client.client_id)

    def _fetch(self, client: Client, topics: list[str]) -> dict[str, Any]:
        messages = []
        for topic in topics:
            for message in self._pending_for(client, topic):
                message.acked_by.add(client.client_id)
                messages.append(message.wire())
        return {"messages": messages, "hasMore": False}

    # --- JSON-RPC ---------------------------------------------------------------------------
    async def _dispatch(self, client: Client, frame: dict[str, Any]) -> dict[str, Any] | None:
        rid = frame.get("id")
        method = frame.get("method")
        params = frame.get("params") or {}
        cid = client.client_id
        try:
            result: Any
            if method == "irn_subscribe":
                result = await self._subscribe(client, params["topic"])
            elif method == "irn_batchSubscribe":
                result = [await self._subscribe(client, t) for t in params["topics"]]
            elif method == "irn_unsubscribe":
                self._subs.get(params["topic"], set()).discard(cid)
                result = True
            elif method == "irn_batchUnsubscribe":
                for sub in params["subscriptions"]:
                    self._subs.get(sub["topic"], set()).discard(cid)
                result = True
            elif method == "irn_publish":
                await self._store(
                    cid,
                    params["topic"],
                    params["message"],
                    params.get("tag", 0),
                    params.get("ttl", 300),
                    params.get("attestation"),
                )
                result = True
            elif method == "irn_batchPublish":
                for p in params["messages"]:
                    await self._store(
                        cid,
                        p["topic"],
                        p["message"],
                        p.get("tag", 0),
                        p.get("ttl", 300),
                        p.get("attestation"),
                    )
                result = True
            elif method == "irn_fetchMessages":
                result = self._fetch(client, [params["topic"]])
            elif method == "irn_batchFetchMessages":
                result = self._fetch(client, list(params["topics"]))
            elif method == "wc_proposeSession":
                pairing_topic = params["pairingTopic"]
                await self._subscribe(client, pairing_topic)
                await self._store(
                    cid,
                    pairing_topic,
                    params["sessionProposal"],
                    1100,
                    params.get("ttl", 300),
                    params.get("attestation"),
                )
                result = True
            elif method == "wc_approveSession":
                session_topic = params["sessionTopic"]
                ttl = params.get("ttl", 300)
                await self._subscribe(client, session_topic)
                await self._store(
                    cid, params["pairingTopic"], params["sessionProposalResponse"], 1101, ttl, ""
                )
                await self._store(
                    cid, session_topic, params["sessionSettlementRequest"], 1102, ttl, ""
                )
                result = True
            else:
                return {
                    "id": rid,
                    "jsonrpc": "2.0",
                    "error": {"code": -32601, "message": f"Method not found: {method}"},
                }
        except (KeyError, TypeError, ValueError) as exc:
            return {
                "id": rid,
                "jsonrpc": "2.0",
                "error": {"code": -32602, "message": f"Invalid params: {exc!r}"},
            }
        return {"id": rid, "jsonrpc": "2.0", "result": result}


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ping-interval", type=float, default=20.0)
    parser.add_argument("--no-auth-check", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    relay = WcTestRelay(
        args.host, args.port, ping_interval=args.ping_interval, check_auth=not args.no_auth_check
    )
    async with relay:
        print(relay.url, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
