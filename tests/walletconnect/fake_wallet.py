"""TEST PEER ONLY: a minimal WalletConnect v2 *wallet* written in Python for integration tests.

It plays the phone wallet against our dApp code through ``tests/support/wc_relay.py``: pairs
from a ``wc:`` URI, approves a session for the account of a private key, answers
``personal_sign`` with an EIP-191 signature made by ``eth_account`` (or with another key, an
error, or nothing), pings, extends, updates and deletes sessions from the wallet side.

Its cryptography and relay code are written here independently of
``app.walletconnect`` on purpose: if both sides shared one implementation, a
mistake in it (wrong HKDF, wrong topic hash, wrong envelope layout) would cancel out and the
tests would still pass.  Behaviour follows what the 2.25 SDK wallet does (``wc_approveSession``,
tags, 7-day expiry) unless a test asks otherwise.  It is never used by the product.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import encode_defunct
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_URI = re.compile(r"^wc:([0-9a-f]{64})@2\?(.+)$")
WALLET_METADATA = {
    "name": "Fake Test Wallet",
    "description": "Python test peer",
    "url": "https://wallet.test",
    "icons": [],
}


# -- independent crypto -----------------------------------------------------------------------


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _hkdf(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"").derive(secret)


def _topic(sym_key: bytes) -> str:
    return hashlib.sha256(sym_key).hexdigest()


def _encrypt(sym_key: bytes, payload: dict[str, Any]) -> str:
    iv = os.urandom(12)
    body = ChaCha20Poly1305(sym_key).encrypt(iv, json.dumps(payload).encode(), None)
    return base64.b64encode(b"\x00" + iv + body).decode()


def _decrypt(sym_key: bytes, message: str) -> dict[str, Any]:
    raw = base64.b64decode(message)
    assert raw[0] == 0, "the test wallet only speaks type-0 envelopes"
    result: dict[str, Any] = json.loads(
        ChaCha20Poly1305(sym_key).decrypt(raw[1:13], raw[13:], None)
    )
    return result


def _jwt(key: Ed25519PrivateKey, aud: str) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    number = int.from_bytes(b"\xed\x01" + public, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = _B58[rest] + digits

    def enc(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    now = int(time.time())
    header = enc(b'{"alg":"EdDSA","typ":"JWT"}')
    claims = {"iss": "did:key:z" + digits, "sub": os.urandom(32).hex(), "aud": aud}
    payload = enc(json.dumps({**claims, "iat": now, "exp": now + 86400}).encode())
    return f"{header}.{payload}.{enc(key.sign(f'{header}.{payload}'.encode()))}"


def did_of(key: Ed25519PrivateKey) -> str:
    token = _jwt(key, "x")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return str(payload["iss"])


def _payload_id() -> int:
    return int(time.time() * 1000) * 1000 + int.from_bytes(os.urandom(2), "big") % 1000


# -- the wallet ---------------------------------------------------------------------------------


@dataclass
class WalletSession:
    topic: str
    sym_key: bytes
    account: str
    namespaces: dict[str, Any]
    expiry: int
    deleted: bool = False


@dataclass
class _Proposal:
    id: int
    params: dict[str, Any]
    pairing_topic: str
    pairing_key: bytes


@dataclass
class Received:
    topic: str
    payload: dict[str, Any]
    tag: int = 0


@dataclass
class FakeWallet:
    """``async with FakeWallet(relay_url, key) as wallet:`` then ``pair``/``approve``/``sign``."""

    relay_url: str
    private_key: bytes
    other_key: bytes = b"\x77" * 32
    use_approve_session: bool = True
    auto_sign: bool = False
    project_id: str = "fake-wallet-project"
    client_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    sessions: dict[str, WalletSession] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.address: str = Account.from_key(self.private_key).address
        self._topics: dict[str, bytes] = {}
        self._seen: set[str] = set()
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._relay_pending: dict[str, asyncio.Future[Any]] = {}
        self._peer_pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._proposals: asyncio.Queue[_Proposal] = asyncio.Queue()
        self._requests: asyncio.Queue[Received] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def client_id(self) -> str:
        return did_of(self.client_key)

    async def __aenter__(self) -> FakeWallet:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- connection ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 5)

    async def close(self) -> None:
        self._closed = True
        for task in [self._runner, *self._tasks]:
            if task is not None:
                task.cancel()
        for task in [self._runner, *self._tasks]:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        if self._ws is not None:
            await self._ws.close()

    async def _run(self) -> None:
        while not self._closed:
            url = f"{self.relay_url}/?auth={_jwt(self.client_key, self.relay_url)}"
            url += f"&projectId={self.project_id}&ua=fake-wallet"
            try:
                ws = await connect(url, open_timeout=2)
            except (OSError, InvalidStatus, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            self._ws = ws
            reader = asyncio.create_task(self._read(ws))
            with contextlib.suppress(ConnectionClosed):
                if self._topics:
                    await self._relay_once(ws, "irn_batchSubscribe", {"topics": list(self._topics)})
                    await self._fetch(list(self._topics), ws)
                self._connected.set()
                await reader
            self._connected.clear()
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            for future in self._relay_pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
            await asyncio.sleep(0.05)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("method") == "irn_subscription":
                    await ws.send(json.dumps({"id": frame["id"], "jsonrpc": "2.0", "result": True}))
                    try:
                        self._accept(frame["params"]["data"])
                    except Exception as exc:  # a test peer reports, never dies silently
                        self.errors.append(repr(exc))
                elif "method" not in frame:
                    future = self._relay_pending.pop(str(frame["id"]), None)
                    if future is not None and not future.done():
                        if "error" in frame:
                            future.set_exception(RuntimeError(str(frame["error"])))
                        else:
                            future.set_result(frame.get("result"))

    async def _relay_once(self, ws: ClientConnection, method: str, params: dict[str, Any]) -> Any:
        request_id = str(next(self._ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._relay_pending[request_id] = future
        await ws.send(
            json.dumps({"id": request_id, "jsonrpc": "2.0", "method": method, "params": params})
        )
        return await asyncio.wait_for(future, 5)

    async def relay(self, method: str, params: dict[str, Any]) -> Any:
        """A relay request, retried across reconnections for up to 10 s."""
        async with asyncio.timeout(10):
            while True:
                await self._connected.wait()
                assert self._ws is not None
                try:
                    return await self._relay_once(self._ws, method, params)
                except (ConnectionError, ConnectionClosed):
                    await asyncio.sleep(0.05)

    async def _fetch(self, topics: list[str], ws: ClientConnection | None = None) -> None:
        while True:
            params = {"topics": topics}
            if ws is not None:
                result = await self._relay_once(ws, "irn_batchFetchMessages", params)
            else:
                result = await self.relay("irn_batchFetchMessages", params)
            for item in result["messages"]:
                try:
                    self._accept(item)
                except Exception as exc:
                    self.errors.append(repr(exc))
            if not result["hasMore"]:
                return

    async def subscribe(self, topic: str, sym_key: bytes) -> None:
        self._topics[topic] = sym_key
        await self.relay("irn_subscribe", {"topic": topic})

    async def publish(
        self, topic: str, payload: dict[str, Any], *, tag: int, ttl: int = 300
    ) -> None:
        message = _encrypt(self._topics[topic], payload)
        await self.relay(
            "irn_publish", {"topic": topic, "message": message, "ttl": ttl, "tag": tag}
        )

    def drop_connection(self) -> None:
        if self._ws is not None:
            self._spawn(self._ws.close())

    # -- inbound ------------------------------------------------------------------------------

    def _accept(self, data: dict[str, Any]) -> None:
        digest = hashlib.sha256(data["message"].encode()).hexdigest()
        if digest in self._seen or data["topic"] not in self._topics:
            return
        self._seen.add(digest)
        payload = _decrypt(self._topics[data["topic"]], data["message"])
        item = Received(data["topic"], payload, data.get("tag", 0))
        self.received.append(item)
        method = payload.get("method")
        if method == "wc_sessionPropose":
            self._proposals.put_nowait(
                _Proposal(
                    payload["id"], payload["params"], data["topic"], self._topics[data["topic"]]
                )
            )
        elif method == "wc_sessionRequest":
            if self.auto_sign:
                self._spawn(self.sign(item))
            else:
                self._requests.put_nowait(item)
        elif method == "wc_sessionPing":
            self._spawn(
                self.publish(
                    data["topic"], {"id": payload["id"], "jsonrpc": "2.0", "result": True}, tag=1115
                )
            )
        elif method == "wc_sessionDelete":
            session = self.sessions.get(data["topic"])
            if session is not None:
                session.deleted = True
        elif method is None:
            future = self._peer_pending.pop(payload.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(payload)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- pairing ------------------------------------------------------------------------------

    async def pair(self, uri: str, *, timeout: float = 5) -> _Proposal:
        """Subscribe to the URI's pairing topic and return the proposal found there."""
        match = _URI.match(uri)
        assert match is not None, f"not a pairing URI: {uri}"
        query = {k: v[0] for k, v in parse_qs(match[2]).items()}
        sym_key = bytes.fromhex(query["symKey"])
        assert _topic(sym_key) == match[1], "topic is not sha256(symKey)"
        assert query["relay-protocol"] == "irn"
        if int(query["expiryTimestamp"]) <= time.time():
            raise ValueError("pairing URI expired")
        await self.subscribe(match[1], sym_key)
        await self._fetch([match[1]])
        async with asyncio.timeout(timeout):
            while True:
                proposal = await self._proposals.get()
                if proposal.pairing_topic == match[1]:
                    return proposal

    async def approve(
        self,
        proposal: _Proposal,
        *,
        accounts: list[str] | None = None,
        methods: list[str] | None = None,
        chains: list[str] | None = None,
        expiry: int | None = None,
        controller_key: str | None = None,
    ) -> WalletSession:
        """Approve like the 2.25 wallet: proposal response + settle, one relay call."""
        requested = proposal.params["optionalNamespaces"]["eip155"]
        chains = chains or requested["chains"]
        accounts = accounts or [f"{chain}:{self.address}" for chain in chains]
        namespaces = {
            "eip155": {
                "chains": chains,
                "methods": requested["methods"] if methods is None else methods,
                "events": requested["events"],
                "accounts": accounts,
            }
        }
        ours = X25519PrivateKey.generate()
        peer = X25519PublicKey.from_public_bytes(
            bytes.fromhex(proposal.params["proposer"]["publicKey"])
        )
        sym_key = _hkdf(ours.exchange(peer))
        session_topic = _topic(sym_key)
        public_hex = _raw(ours.public_key()).hex()
        response = {
            "id": proposal.id,
            "jsonrpc": "2.0",
            "result": {"relay": {"protocol": "irn"}, "responderPublicKey": public_hex},
        }
        settle_expiry = int(time.time()) + 7 * 86400 if expiry is None else expiry
        settle = {
            "id": _payload_id(),
            "jsonrpc": "2.0",
            "method": "wc_sessionSettle",
            "params": {
                "relay": {"protocol": "irn"},
                "namespaces": namespaces,
                "controller": {
                    "publicKey": controller_key or public_hex,
                    "metadata": WALLET_METADATA,
                },
                "expiry": settle_expiry,
            },
        }
        self._topics[session_topic] = sym_key
        session = WalletSession(session_topic, sym_key, accounts[0], namespaces, settle_expiry)
        self.sessions[session_topic] = session
        if self.use_approve_session:
            await self.relay(
                "wc_approveSession",
                {
                    "sessionTopic": session_topic,
                    "pairingTopic": proposal.pairing_topic,
                    "sessionProposalResponse": _encrypt(proposal.pairing_key, response),
                    "sessionSettlementRequest": _encrypt(sym_key, settle),
                    "ttl": 300,
                    "correlationId": proposal.id,
                },
            )
        else:
            await self.subscribe(session_topic, sym_key)
            await self.publish(proposal.pairing_topic, response, tag=1101)
            await self.publish(session_topic, settle, tag=1102)
        return session

    async def reject_proposal(self, proposal: _Proposal, code: int = 5000) -> None:
        error = {"code": code, "message": "User rejected."}
        await self.publish(
            proposal.pairing_topic, {"id": proposal.id, "jsonrpc": "2.0", "error": error}, tag=1120
        )

    def settle_answer(self, session: WalletSession) -> dict[str, Any] | None:
        """Our dApp's answer to the settle, if it arrived."""
        for item in self.received:
            if item.topic == session.topic and "method" not in item.payload:
                return item.payload
        return None

    # -- requests -----------------------------------------------------------------------------

    async def next_request(self, timeout: float = 5) -> Received:
        return await asyncio.wait_for(self._requests.get(), timeout)

    def pending_requests(self) -> int:
        return self._requests.qsize()

    async def sign(self, request: Received, *, other_key: bool = False) -> str:
        """Answer ``personal_sign`` with an EIP-191 signature of the message bytes."""
        inner = request.payload["params"]["request"]
        assert inner["method"] == "personal_sign"
        message_hex, address = inner["params"]
        assert address.lower() == self.address.lower(), (
            "personal_sign params are [message, address]"
        )
        message = bytes.fromhex(message_hex.removeprefix("0x"))
        key = self.other_key if other_key else self.private_key
        signature = Account.sign_message(
            encode_defunct(primitive=message), private_key=key
        ).signature
        result = "0x" + bytes(signature).hex()
        await self.respond(request, {"result": result})
        return result

    async def reject(
        self, request: Received, code: int = 5000, message: str = "User rejected."
    ) -> None:
        await self.respond(request, {"error": {"code": code, "message": message}})

    async def respond(self, request: Received, answer: dict[str, Any]) -> None:
        payload = {"id": request.payload["id"], "jsonrpc": "2.0", **answer}
        await self.publish(request.topic, payload, tag=1109, ttl=900)

    # -- wallet-side session control ----------------------------------------------------------

    def _session(self, topic: str | None) -> WalletSession:
        if topic is not None:
            return self.sessions[topic]
        return list(self.sessions.values())[-1]

    async def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        tag: int,
        topic: str | None = None,
        wait: bool = True,
    ) -> dict[str, Any] | None:
        session = self._session(topic)
        request_id = _payload_id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._peer_pending[request_id] = future
        payload = {"id": request_id, "jsonrpc": "2.0", "method": method, "params": params}
        await self.publish(session.topic, payload, tag=tag, ttl=86400)
        if not wait:
            return None
        return await asyncio.wait_for(future, 5)

    async def ping(self, topic: str | None = None) -> dict[str, Any] | None:
        return await self.call("wc_sessionPing", {}, tag=1114, topic=topic)

    async def delete(self, topic: str | None = None) -> None:
        """Wallet-side delete; like the 2.25 SDK, do not wait for an answer."""
        params = {"code": 6000, "message": "User disconnected."}
        await self.call("wc_sessionDelete", params, tag=1112, topic=topic, wait=False)
        self._session(topic).deleted = True

    async def extend(
        self, expiry: int | None = None, topic: str | None = None
    ) -> dict[str, Any] | None:
        """``expiry=None`` sends ``params: {}`` like the 2.25 SDK (both sides take now + 7 d)."""
        params = {} if expiry is None else {"expiry": expiry}
        return await self.call("wc_sessionExtend", params, tag=1106, topic=topic)

    async def update(
        self, namespaces: dict[str, Any], topic: str | None = None
    ) -> dict[str, Any] | None:
        return await self.call(
            "wc_sessionUpdate", {"namespaces": namespaces}, tag=1104, topic=topic
        )

    async def emit_event(
        self, name: str, data: Any, topic: str | None = None
    ) -> dict[str, Any] | None:
        params = {"event": {"name": name, "data": data}, "chainId": "eip155:1"}
        return await self.call("wc_sessionEvent", params, tag=1110, topic=topic)
