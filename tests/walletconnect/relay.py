"""TEST FIXTURE: a loopback WalletConnect relay (websockets server on 127.0.0.1).

It implements the relay JSON-RPC of the protocol notes (``shared/protocol/walletconnect-v2.md``
section 1.6) closely enough for both peers of a Sign session:

* ``irn_subscribe`` / ``irn_batchSubscribe`` / ``irn_unsubscribe`` / ``irn_batchUnsubscribe``,
  ``irn_publish`` / ``irn_batchPublish``, ``irn_fetchMessages`` / ``irn_batchFetchMessages``,
  and the 2025 ``wc_proposeSession`` / ``wc_approveSession``;
* a per-topic mailbox with ttl; a message counts as delivered to a client (identified by the
  ``iss`` of its auth JWT) only once that client acknowledged the ``irn_subscription``, so a
  message sent into a dying connection is delivered again later, as by the real relay;
* no echo to the publisher; request ids echoed exactly as received (the JS SDK sends strings);
  server pings every ``ping_interval`` seconds;
* subscriptions belong to a connection: after a reconnection (or ``restart()``) a client gets
  nothing until it subscribes again, which is what proves the client's batch resubscribe;
* the auth JWT is verified (EdDSA over the did:key in ``iss``); a ``projectId`` equal to
  ``REJECTED_PROJECT`` gets a close 3000 like the production relay's "Project not found";
  ``block()`` refuses a client's new connections (HTTP 503) until ``unblock()``.

It is not a product component and never leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

REJECTED_PROJECT = "rejected-project"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def verify_jwt(token: str) -> str:
    """The ``iss`` of a valid relay auth JWT; ``ValueError`` when it does not verify."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(_b64url_decode(header_b64))
    payload = json.loads(_b64url_decode(payload_b64))
    if header != {"alg": "EdDSA", "typ": "JWT"}:
        raise ValueError("unexpected JWT header")
    iss = payload["iss"]
    if not iss.startswith("did:key:z"):
        raise ValueError("iss is not a did:key")
    multicodec = _b58decode(iss[len("did:key:z") :])
    if multicodec[:2] != b"\xed\x01" or len(multicodec) != 34:
        raise ValueError("iss is not an Ed25519 did:key")
    try:
        Ed25519PublicKey.from_public_bytes(multicodec[2:]).verify(
            _b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode()
        )
    except InvalidSignature:
        raise ValueError("bad JWT signature") from None
    if payload["exp"] < time.time():
        raise ValueError("expired JWT")
    return str(iss)


@dataclass
class StoredMessage:
    topic: str
    message: str
    tag: int
    publisher: str
    published_at: int
    expires_at: float
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.hash = hashlib.sha256(self.message.encode()).hexdigest()

    def wire(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "message": self.message,
            "publishedAt": self.published_at,
            "tag": self.tag,
            "attestation": "",
        }


@dataclass(eq=False)
class _Client:
    client_id: str
    ws: ServerConnection
    subscriptions: dict[str, str] = field(default_factory=dict)  # topic -> subscription id


class LoopbackRelay:
    """``async with LoopbackRelay() as relay: relay.url`` ; ``await relay.restart()``."""

    def __init__(self, *, ping_interval: float | None = 1.0, fetch_page_size: int = 50) -> None:
        self.ping_interval = ping_interval
        self.fetch_page_size = fetch_page_size
        self.port = 0
        self.mailbox: dict[str, list[StoredMessage]] = {}
        self.delivered: dict[str, set[str]] = {}  # client id -> acknowledged message hashes
        self.clients: set[_Client] = set()
        self.blocked: set[str] = set()
        self.published: list[dict[str, Any]] = []  # every publish, in order: for assertions
        self.requests: list[tuple[str, str]] = []  # (client id, method) of every request
        self.connections_by_client: dict[str, int] = {}
        self._server: Server | None = None
        self._ids = itertools.count(1)
        self._awaiting_ack: dict[str, tuple[str, str]] = {}  # our id -> (client id, hash)
        self._methods: dict[str, Callable[[_Client, dict[str, Any]], Awaitable[Any]]] = {
            "irn_subscribe": self._subscribe_one,
            "irn_batchSubscribe": self._batch_subscribe,
            "irn_unsubscribe": self._unsubscribe_one,
            "irn_batchUnsubscribe": self._batch_unsubscribe,
            "irn_publish": self._publish_one,
            "irn_batchPublish": self._batch_publish,
            "irn_fetchMessages": self._fetch_one,
            "irn_batchFetchMessages": self._batch_fetch,
            "wc_proposeSession": self._propose_session,
            "wc_approveSession": self._approve_session,
        }

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            process_request=self._check_request,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and the listening socket; the mailbox survives."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self.clients.clear()

    async def restart(self, downtime: float = 0.0) -> None:
        await self.stop()
        await asyncio.sleep(downtime)
        await self.start()

    async def __aenter__(self) -> LoopbackRelay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- test controls ----------------------------------------------------------------------

    def block(self, client_id: str) -> None:
        """Refuse new connections of ``client_id`` and drop its current ones."""
        self.blocked.add(client_id)
        for client in list(self.clients):
            if client.client_id == client_id:
                asyncio.get_running_loop().create_task(client.ws.close())

    async def refuse(self, client_id: str, reason: str = "Project not found") -> None:
        """Close ``client_id``'s connections with code 3000, as the production relay does."""
        for client in list(self.clients):
            if client.client_id == client_id:
                await client.ws.close(3000, reason)

    def unblock(self, client_id: str) -> None:
        self.blocked.discard(client_id)

    def published_tags(self, topic: str | None = None) -> list[int]:
        return [p["tag"] for p in self.published if topic is None or p["topic"] == topic]

    # -- handshake ----------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        try:
            client_id = verify_jwt(query["auth"][0])
        except (KeyError, ValueError, IndexError):
            return Response(401, "Unauthorized", Headers(), b"bad auth\n")
        if not query.get("projectId", [""])[0]:
            return Response(401, "Unauthorized", Headers(), b"projectId missing\n")
        if client_id in self.blocked:
            return Response(503, "Service Unavailable", Headers(), b"blocked by the test\n")
        connection.client_id = client_id  # type: ignore[attr-defined]
        connection.project_id = query["projectId"][0]  # type: ignore[attr-defined]
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.project_id == REJECTED_PROJECT:  # type: ignore[attr-defined]
            await ws.close(3000, "Project not found")
            return
        client = _Client(ws.client_id, ws)  # type: ignore[attr-defined]
        self.clients.add(client)
        self.connections_by_client[client.client_id] = (
            self.connections_by_client.get(client.client_id, 0) + 1
        )
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if "method" in frame:
                    await self._on_request(client, frame)
                elif frame.get("result") is True:
                    acked = self._awaiting_ack.pop(str(frame.get("id")), None)
                    if acked is not None:
                        self.delivered.setdefault(acked[0], set()).add(acked[1])
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)

    # -- JSON-RPC -----------------------------------------------------------------------------

    async def _on_request(self, client: _Client, frame: dict[str, Any]) -> None:
        method, params, request_id = frame["method"], frame.get("params") or {}, frame["id"]
        self.requests.append((client.client_id, method))
        handler = self._methods.get(method)
        if handler is None:
            answer = {"error": {"code": -32601, "message": f"unknown method {method}"}}
        else:
            try:
                answer = {"result": await handler(client, params)}
            except (KeyError, TypeError, ValueError) as exc:
                answer = {"error": {"code": -32602, "message": f"invalid params: {exc}"}}
        with contextlib.suppress(ConnectionClosed):
            await client.ws.send(json.dumps({"id": request_id, "jsonrpc": "2.0", **answer}))

    async def _subscribe_one(self, client: _Client, params: dict[str, Any]) -> str:
        return await self._subscribe(client, str(params["topic"]))

    async def _batch_subscribe(self, client: _Client, params: dict[str, Any]) -> list[str]:
        return [await self._subscribe(client, str(topic)) for topic in params["topics"]]

    async def _unsubscribe_one(self, client: _Client, params: dict[str, Any]) -> bool:
        client.subscriptions.pop(str(params["topic"]), None)
        return True

    async def _batch_unsubscribe(self, client: _Client, params: dict[str, Any]) -> bool:
        for item in params["subscriptions"]:
            client.subscriptions.pop(str(item["topic"]), None)
        return True

    async def _publish_one(self, client: _Client, params: dict[str, Any]) -> bool:
        await self._publish(client.client_id, params)
        return True

    async def _batch_publish(self, client: _Client, params: dict[str, Any]) -> bool:
        for item in params["messages"]:
            await self._publish(client.client_id, item)
        return True

    async def _fetch_one(self, client: _Client, params: dict[str, Any]) -> Any:
        return self._fetch(client.client_id, [str(params["topic"])])

    async def _batch_fetch(self, client: _Client, params: dict[str, Any]) -> Any:
        return self._fetch(client.client_id, [str(t) for t in params["topics"]])

    async def _propose_session(self, client: _Client, params: dict[str, Any]) -> bool:
        topic = str(params["pairingTopic"])
        await self._subscribe(client, topic)
        publish = {
            "topic": topic,
            "message": params["sessionProposal"],
            "ttl": int(params.get("ttl", 300)),
            "tag": 1100,
        }
        await self._publish(client.client_id, publish)
        return True

    async def _approve_session(self, client: _Client, params: dict[str, Any]) -> bool:
        session_topic = str(params["sessionTopic"])
        await self._subscribe(client, session_topic)
        response = {
            "topic": str(params["pairingTopic"]),
            "message": params["sessionProposalResponse"],
            "ttl": 300,
            "tag": 1101,
        }
        settle = {
            "topic": session_topic,
            "message": params["sessionSettlementRequest"],
            "ttl": 300,
            "tag": 1102,
        }
        await self._publish(client.client_id, response)
        await self._publish(client.client_id, settle)
        return True

    # -- mailbox ------------------------------------------------------------------------------

    def _live(self, topic: str) -> list[StoredMessage]:
        now = time.time()
        messages = [m for m in self.mailbox.get(topic, []) if m.expires_at > now]
        self.mailbox[topic] = messages
        return messages

    def _undelivered(self, client_id: str, topic: str) -> list[StoredMessage]:
        seen = self.delivered.get(client_id, set())
        return [m for m in self._live(topic) if m.publisher != client_id and m.hash not in seen]

    async def _subscribe(self, client: _Client, topic: str) -> str:
        sub_id = client.subscriptions.get(topic)
        if sub_id is None:
            sub_id = hashlib.sha256(f"{client.client_id}/{topic}".encode()).hexdigest()
            client.subscriptions[topic] = sub_id
        for message in self._undelivered(client.client_id, topic):
            await self._deliver(client, message)
        return sub_id

    async def _publish(self, publisher: str, params: dict[str, Any]) -> None:
        stored = StoredMessage(
            topic=str(params["topic"]),
            message=str(params["message"]),
            tag=int(params["tag"]),
            publisher=publisher,
            published_at=int(time.time() * 1000),
            expires_at=time.time() + int(params["ttl"]),
        )
        self.published.append({**params, "publisher": publisher})
        self.mailbox.setdefault(stored.topic, []).append(stored)
        for client in list(self.clients):
            if client.client_id != publisher and stored.topic in client.subscriptions:
                await self._deliver(client, stored)

    async def _deliver(self, client: _Client, message: StoredMessage) -> None:
        request_id = str(next(self._ids))
        self._awaiting_ack[request_id] = (client.client_id, message.hash)
        frame = {
            "id": request_id,
            "jsonrpc": "2.0",
            "method": "irn_subscription",
            "params": {"id": client.subscriptions[message.topic], "data": message.wire()},
        }
        with contextlib.suppress(ConnectionClosed):
            await client.ws.send(json.dumps(frame))

    def _fetch(self, client_id: str, topics: list[str]) -> dict[str, Any]:
        found = [m for topic in topics for m in self._undelivered(client_id, topic)]
        page = found[: self.fetch_page_size]
        self.delivered.setdefault(client_id, set()).update(m.hash for m in page)
        return {"messages": [m.wire() for m in page], "hasMore": len(found) > len(page)}


async def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="loopback WalletConnect relay (tests only)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    relay = LoopbackRelay()
    relay.port = args.port
    async with relay:
        print(relay.url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main())
