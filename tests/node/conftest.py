"""Fixtures of the node tests: real nodes on loopback ports, raw HTTP.

Every test that takes ``node``, ``db_spec`` or ``storage_factory`` runs once per backend: a
temp SQLite file, and a fresh database on the session's real PostgreSQL server
(``tests/support/postgres.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.prekeys import generate_identity
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.server import NodeServer
from app.xmtpnode.storage import Storage, open_storage

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "postgresql")


@dataclass
class Node:
    server: NodeServer
    url: str
    db: str
    """The SQLite path or PostgreSQL URL behind the node."""


@dataclass
class Reply:
    status: int
    text: str
    content_type: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


@pytest.fixture(scope="session")
def alice() -> PrivateKeyBundleV1:
    return asyncio.run(generate_identity(RawKeySigner(bytes.fromhex("11" * 32))))


@pytest.fixture(scope="session")
def bob() -> PrivateKeyBundleV1:
    return asyncio.run(generate_identity(RawKeySigner(bytes.fromhex("22" * 32))))


@pytest.fixture
def alice_token(alice: PrivateKeyBundleV1) -> str:
    return create_auth_token(alice)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_spec(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new, empty store of ``backend``: a SQLite path or a PostgreSQL URL."""
    if backend == "sqlite":
        return str(tmp_path / "node.sqlite3")
    return str(request.getfixturevalue("postgres_server").new_database())


@pytest.fixture
def storage_factory(db_spec: str) -> Iterator[Callable[[], Storage]]:
    """Opens stores on ``db_spec`` (all closed after the test)."""
    opened: list[Storage] = []

    def open_one() -> Storage:
        opened.append(open_storage(db_spec))
        return opened[-1]

    yield open_one
    for storage in opened:
        storage.close()


@pytest_asyncio.fixture
async def node(db_spec: str) -> AsyncIterator[Node]:
    server = NodeServer.open(db_spec)
    url = await server.start()
    try:
        yield Node(server, url, db_spec)
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def page_order(envelope: dict[str, Any]) -> tuple[int, bytes]:
    """Where a JSON envelope sorts in query results: (timestamp, SHA-256(topic ‖ message))."""
    message = base64.b64decode(envelope["message"])
    digest = hashlib.sha256(envelope["contentTopic"].encode() + message).digest()
    return int(envelope["timestampNs"]), digest


def envelope_json(topic: str, timestamp_ns: int, message: bytes) -> dict[str, Any]:
    """An Envelope as xmtp-js sends it: timestamp as a string, standard base64."""
    return {"contentTopic": topic, "timestampNs": str(timestamp_ns), "message": b64(message)}


async def post(
    http: aiohttp.ClientSession,
    url: str,
    path: str,
    body: Any,
    *,
    token: str | None = None,
    content_type: str = "text/plain;charset=UTF-8",
) -> Reply:
    """POST like xmtp-js: JSON text sent as text/plain, bearer token only when given."""
    headers = {"Content-Type": content_type, "X-Client-Version": "xmtp-js/13.0.4"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    async with http.post(url + path, data=data, headers=headers) as response:
        return Reply(response.status, await response.text(), response.content_type)


async def publish(
    http: aiohttp.ClientSession, url: str, token: str | None, *envelopes: dict[str, Any]
) -> Reply:
    return await post(http, url, "/message/v1/publish", {"envelopes": list(envelopes)}, token=token)


async def query(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await post(http, url, "/message/v1/query", body)
    assert reply.status == 200, reply.text
    result: dict[str, Any] = reply.json
    return result


async def stored(http: aiohttp.ClientSession, url: str, *topics: str) -> list[dict[str, Any]]:
    """Every envelope on ``topics`` (one page of 100 is plenty in these tests)."""
    body = {"contentTopics": list(topics), "pagingInfo": {"limit": 100}}
    envelopes: list[dict[str, Any]] = (await query(http, url, body))["envelopes"]
    return envelopes
