"""TEST FIXTURE: the one loopback WalletConnect relay every test uses (websockets on 127.0.0.1).

It implements the relay JSON-RPC of the protocol notes (``walletconnect-v2.md`` sections 1.6
and 3) closely enough for both peers of a Sign session: our Python dApp, the Python test wallet
(``tests/walletconnect/fake_wallet.py``) and the official JS SDKs (``@reown/walletkit``,
``@walletconnect/sign-client``):

* ``irn_subscribe`` / ``irn_batchSubscribe`` / ``irn_unsubscribe`` / ``irn_batchUnsubscribe``,
  ``irn_publish`` / ``irn_batchPublish``, ``irn_fetchMessages`` / ``irn_batchFetchMessages``,
  and the "Sign 2.5" ``wc_proposeSession`` / ``wc_approveSession``; request ids are echoed
  exactly as received (the JS SDK sends 19-digit strings);
* a per-topic mailbox with ttl; a message counts as delivered to a client (the ``iss`` of its
  auth JWT) only once that client acknowledged the ``irn_subscription`` or fetched it, so a
  message sent into a dying connection is delivered again later, as by the real relay; the same
  ciphertext published twice (a retry) is stored once; no echo to the publisher;
* subscriptions belong to a connection: after a reconnection a client gets nothing until it
  subscribes again, which is what proves a client's batch resubscribe;
* ``attestation: ""`` in every delivery, so the JS wallet skips the Verify API;
* the auth JWT is verified with the package's own ``verify_relay_jwt`` (HTTP 401 when it fails
  or ``projectId`` is missing, recorded in ``auth_failures``); ``projectId == REJECTED_PROJECT``
  gets a close 3000 like the production relay's "Project not found".

Faults and records for tests: ``block``/``unblock`` (HTTP 503 for a client's new connections),
``refuse`` (close 3000), ``drop_connections``, ``restart``, ``dedupe_publishes=False`` (deliver
a repeated ciphertext again); ``frames`` (every frame in and out), ``published``, ``requests``,
``connections_by_client``, ``refused_by_client``, ``delivered``, ``unacknowledged()``, so
tests wait on what happened instead of sleeping.

It is not a product component and never leaves the loopback interface.  Standalone (for the
JS drivers): ``python -m tests.support.wc_relay --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from app.walletconnect.constants import REJECTED_CLOSE_CODE
from app.walletconnect.relay_auth import InvalidRelayToken, verify_relay_jwt

REJECTED_PROJECT = "rejected-project"
PROPOSE_TAG, PROPOSAL_RESPONSE_TAG, SETTLE_TAG = 1100, 1101, 1102


def subscription_id(topic: str, client_id: str) -> str:
    """The id the JS SDK computes locally for a subscription: sha256(topic + clientId)."""
    return hashlib.sha256((topic + client_id).encode()).hexdigest()


@dataclass
class StoredMessage:
    topic: str
    message: str
    tag: int
    publisher: str
    published_at: int
    """Milliseconds."""
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
class RelayConnection:
    client_id: str
    ws: ServerConnection
    subscriptions: dict[str, str] = field(default_factory=dict)
    """topic -> subscription id (of this connection only)."""
    inflight: set[int] = field(default_factory=set)
    """``id()`` of stored messages sent as ``irn_subscription`` and not acknowledged yet."""


Handler = Callable[[RelayConnection, dict[str, Any]], Awaitable[Any]]


class LoopbackRelay:
    """``async with LoopbackRelay() as relay: relay.url`` (``restart``, ``block``… for faults)."""

    def __init__(
        self,
        *,
        port: int = 0,
        ping_interval: float | None = 1.0,
        fetch_page_size: int = 50,
        max_ttl: int = 7 * 86400,
        dedupe_publishes: bool = True,
    ) -> None:
        self.port = port
        self.dedupe_publishes = dedupe_publishes
        """False: the same ciphertext published twice is delivered twice (a redelivery)."""
        self.ping_interval = ping_interval
        self.fetch_page_size = fetch_page_size
        self.max_ttl = max_ttl
        self.mailbox: dict[str, list[StoredMessage]] = {}
        self.delivered: dict[str, set[str]] = {}  # client id -> acknowledged message hashes
        self.clients: set[RelayConnection] = set()
        self.blocked: set[str] = set()
        self.published: list[dict[str, Any]] = []  # every publish's params, in order
        self.requests: list[tuple[str, str]] = []  # (client id, method) of every request
        self.frames: list[tuple[str, str, dict[str, Any]]] = []  # ("in"|"out", client id, frame)
        self.auth_failures: list[str] = []
        self.connections_by_client: dict[str, int] = {}
        self.refused_by_client: dict[str, int] = {}  # handshakes refused by ``block``
        self._server: Server | None = None
        self._ids = itertools.count(int(time.time() * 1000) * 1000)
        self._awaiting_ack: dict[str, tuple[RelayConnection, StoredMessage]] = {}  # id -> (to, m)
        self._methods: dict[str, Handler] = {
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

    async def start(self) -> LoopbackRelay:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            process_request=self._check_request,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            max_size=2**22,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every connection and the listening socket; the mailbox survives."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self.clients.clear()

    async def restart(self, downtime: float = 0.0) -> None:
        """Go away for ``downtime`` seconds and come back on the same port."""
        await self.stop()
        await asyncio.sleep(downtime)
        await self.start()

    async def __aenter__(self) -> LoopbackRelay:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- faults and records ---------------------------------------------------------------------

    def block(self, client_id: str) -> None:
        """Refuse new connections of ``client_id`` (HTTP 503) and drop its current ones."""
        self.blocked.add(client_id)
        for client in list(self.clients):
            if client.client_id == client_id:
                asyncio.get_running_loop().create_task(client.ws.close())

    def unblock(self, client_id: str) -> None:
        self.blocked.discard(client_id)

    async def refuse(self, client_id: str, reason: str = "Project not found") -> None:
        """Close ``client_id``'s connections with code 3000, as the production relay does."""
        for client in list(self.clients):
            if client.client_id == client_id:
                await client.ws.close(REJECTED_CLOSE_CODE, reason)

    async def drop_connections(self, code: int = 1012, reason: str = "test restart") -> None:
        """Close every client socket (clients are expected to reconnect and resubscribe)."""
        for client in list(self.clients):
            await client.ws.close(code, reason)

    def connected_clients(self) -> list[str]:
        return [client.client_id for client in self.clients]

    def methods_seen(self, client_id: str | None = None) -> list[str]:
        return [m for c, m in self.requests if client_id is None or c == client_id]

    def unacknowledged(self, client_id: str) -> int:
        """Deliveries to ``client_id`` it has not acknowledged yet (0: it has seen everything)."""
        return sum(1 for to, _ in self._awaiting_ack.values() if to.client_id == client_id)

    def published_tags(self, topic: str | None = None) -> list[int]:
        return [p["tag"] for p in self.published if topic is None or p["topic"] == topic]

    # -- handshake ------------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        try:
            if not query.get("projectId", [""])[0]:
                raise InvalidRelayToken("projectId missing")
            client_id = str(verify_relay_jwt(query.get("auth", [""])[0])["iss"])
        except InvalidRelayToken as exc:
            self.auth_failures.append(str(exc))
            return Response(401, "Unauthorized", Headers(), f"{exc}\n".encode())
        if client_id in self.blocked:
            self.refused_by_client[client_id] = self.refused_by_client.get(client_id, 0) + 1
            return Response(503, "Service Unavailable", Headers(), b"blocked by the test\n")
        connection.client_id = client_id  # type: ignore[attr-defined]
        connection.project_id = query["projectId"][0]  # type: ignore[attr-defined]
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.project_id == REJECTED_PROJECT:  # type: ignore[attr-defined]
            await ws.close(REJECTED_CLOSE_CODE, "Project not found")
            return
        client = RelayConnection(ws.client_id, ws)  # type: ignore[attr-defined]
        self.clients.add(client)
        self.connections_by_client[client.client_id] = (
            self.connections_by_client.get(client.client_id, 0) + 1
        )
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                self.frames.append(("in", client.client_id, frame))
                if "method" in frame:
                    await self._on_request(client, frame)
                elif "result" in frame:
                    acked = self._awaiting_ack.pop(str(frame.get("id")), None)
                    if acked is not None:
                        acked[0].inflight.discard(id(acked[1]))
                        self.delivered.setdefault(client.client_id, set()).add(acked[1].hash)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            # What this connection never acknowledged is delivered again on the next one.
            for request_id, (to, _) in list(self._awaiting_ack.items()):
                if to is client:
                    del self._awaiting_ack[request_id]

    async def _send(self, client: RelayConnection, frame: dict[str, Any]) -> None:
        self.frames.append(("out", client.client_id, frame))
        with contextlib.suppress(ConnectionClosed):
            await client.ws.send(json.dumps(frame))

    # -- JSON-RPC -------------------------------------------------------------------------------

    async def _on_request(self, client: RelayConnection, frame: dict[str, Any]) -> None:
        method, params, request_id = frame["method"], frame.get("params") or {}, frame.get("id")
        self.requests.append((client.client_id, method))
        handler = self._methods.get(method)
        if handler is None:
            answer = {"error": {"code": -32601, "message": f"unknown method {method}"}}
        else:
            try:
                answer = {"result": await handler(client, params)}
            except (KeyError, TypeError, ValueError) as exc:
                answer = {"error": {"code": -32602, "message": f"invalid params: {exc!r}"}}
        await self._send(client, {"id": request_id, "jsonrpc": "2.0", **answer})

    async def _subscribe_one(self, client: RelayConnection, params: dict[str, Any]) -> str:
        return await self._subscribe(client, params["topic"])

    async def _batch_subscribe(self, client: RelayConnection, params: dict[str, Any]) -> list[str]:
        return [await self._subscribe(client, topic) for topic in params["topics"]]

    async def _unsubscribe_one(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        client.subscriptions.pop(str(params["topic"]), None)
        return True

    async def _batch_unsubscribe(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        for item in params["subscriptions"]:
            client.subscriptions.pop(str(item["topic"]), None)
        return True

    async def _publish_one(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        await self._publish(client.client_id, params)
        return True

    async def _batch_publish(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        for item in params["messages"]:
            await self._publish(client.client_id, item)
        return True

    async def _fetch_one(self, client: RelayConnection, params: dict[str, Any]) -> Any:
        return self._fetch(client.client_id, [str(params["topic"])])

    async def _batch_fetch(self, client: RelayConnection, params: dict[str, Any]) -> Any:
        return self._fetch(client.client_id, [str(topic) for topic in params["topics"]])

    async def _propose_session(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        topic = str(params["pairingTopic"])
        await self._subscribe(client, topic)
        proposal = {
            "topic": topic,
            "message": params["sessionProposal"],
            "ttl": int(params.get("ttl", 300)),
            "tag": PROPOSE_TAG,
        }
        await self._publish(client.client_id, proposal)
        return True

    async def _approve_session(self, client: RelayConnection, params: dict[str, Any]) -> bool:
        session_topic = str(params["sessionTopic"])
        ttl = int(params.get("ttl", 300))
        await self._subscribe(client, session_topic)
        response = {
            "topic": str(params["pairingTopic"]),
            "message": params["sessionProposalResponse"],
            "ttl": ttl,
            "tag": PROPOSAL_RESPONSE_TAG,
        }
        settle = {
            "topic": session_topic,
            "message": params["sessionSettlementRequest"],
            "ttl": ttl,
            "tag": SETTLE_TAG,
        }
        await self._publish(client.client_id, response)
        await self._publish(client.client_id, settle)
        return True

    # -- mailbox --------------------------------------------------------------------------------

    def _live(self, topic: str) -> list[StoredMessage]:
        now = time.time()
        messages = [m for m in self.mailbox.get(topic, []) if m.expires_at > now]
        self.mailbox[topic] = messages
        return messages

    def _undelivered(self, client_id: str, topic: str) -> list[StoredMessage]:
        seen = self.delivered.get(client_id, set())
        return [m for m in self._live(topic) if m.publisher != client_id and m.hash not in seen]

    async def _subscribe(self, client: RelayConnection, topic: object) -> str:
        if not isinstance(topic, str) or not topic:
            raise ValueError("topic is required")
        sub_id = client.subscriptions.setdefault(topic, subscription_id(topic, client.client_id))
        for message in self._undelivered(client.client_id, topic):
            await self._deliver(client, message)
        return sub_id

    async def _publish(self, publisher: str, params: dict[str, Any]) -> None:
        topic, message = params["topic"], params["message"]
        if not isinstance(topic, str) or not topic or not isinstance(message, str) or not message:
            raise ValueError("topic and message are required")
        self.published.append({**params, "publisher": publisher})
        if self.dedupe_publishes and any(m.message == message for m in self._live(topic)):
            return  # the same ciphertext again (a publish retry): keep one copy
        stored = StoredMessage(
            topic=topic,
            message=message,
            tag=int(params.get("tag") or 0),
            publisher=publisher,
            published_at=int(time.time() * 1000),
            expires_at=time.time() + max(1, min(int(params.get("ttl") or 300), self.max_ttl)),
        )
        self.mailbox.setdefault(topic, []).append(stored)
        for client in list(self.clients):
            if client.client_id != publisher and topic in client.subscriptions:
                await self._deliver(client, stored)

    async def _deliver(self, client: RelayConnection, message: StoredMessage) -> None:
        if id(message) in client.inflight:
            return
        client.inflight.add(id(message))
        request_id = str(next(self._ids))
        self._awaiting_ack[request_id] = (client, message)
        frame = {
            "id": request_id,
            "jsonrpc": "2.0",
            "method": "irn_subscription",
            "params": {"id": client.subscriptions[message.topic], "data": message.wire()},
        }
        await self._send(client, frame)

    def _fetch(self, client_id: str, topics: list[str]) -> dict[str, Any]:
        found = [m for topic in topics for m in self._undelivered(client_id, topic)]
        page = found[: self.fetch_page_size]
        self.delivered.setdefault(client_id, set()).update(m.hash for m in page)
        return {"messages": [m.wire() for m in page], "hasMore": len(found) > len(page)}


async def _main() -> None:
    parser = argparse.ArgumentParser(description="loopback WalletConnect relay (tests only)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ping-interval", type=float, default=20.0)
    args = parser.parse_args()
    async with LoopbackRelay(port=args.port, ping_interval=args.ping_interval) as relay:
        print(relay.url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
