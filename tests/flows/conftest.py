"""Fixtures for flow tests: a real node on a loopback port and a vault in a temp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.keyengine.flows import FlowEvent, KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import MemoryStore, Vault
from app.xmtpnode.embedded import EmbeddedNode


@pytest.fixture
def node_db(tmp_path: Path) -> Path:
    return tmp_path / "node.sqlite3"


@pytest.fixture
def node(node_db: Path) -> Iterator[EmbeddedNode]:
    with EmbeddedNode(db_path=node_db) as running:
        yield running


@pytest.fixture
def secrets() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def vault(tmp_path: Path, secrets: MemoryStore) -> Vault:
    return Vault(tmp_path / "data", secrets)


@pytest.fixture
def events() -> list[FlowEvent]:
    return []


@pytest_asyncio.fixture
async def client(node: EmbeddedNode) -> AsyncIterator[XmtpClient]:
    assert node.url is not None
    async with XmtpClient(node.url, retries=1, backoff_s=0.01) as c:
        yield c


@pytest.fixture
def flows(client: XmtpClient, vault: Vault, events: list[FlowEvent]) -> KeyFlows:
    return KeyFlows(client, vault, events.append)
