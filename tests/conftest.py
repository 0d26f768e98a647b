"""Fixtures every folder shares: the protocol vectors, signers and the real node.

Fixture names mean one thing everywhere: ``node`` is a ``RunningNode`` (``tests/support/
node.py``) over the database ``node_db`` names, ``node_url`` its URL and ``client`` the
engine's ``XmtpClient`` connected to it.  Helpers tests import live in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from app.keyengine.network import XmtpClient
from app.keyengine.vault import MemoryStore
from app.keyengine.wallets import RawKeySigner
from tests.support.cli import Run, runner
from tests.support.node import RunningNode
from tests.support.postgres import postgres_server  # noqa: F401 - session fixture
from tests.support.vectors import load_vectors


@pytest.fixture(scope="session")
def vectors() -> dict[str, dict[str, Any]]:
    return load_vectors()


@pytest.fixture
def wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("11" * 32))


@pytest.fixture
def other_wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("22" * 32))


@pytest.fixture
def node_db(tmp_path: Path) -> Path:
    """Where the test's node keeps its data (one place to point every node elsewhere)."""
    return tmp_path / "node.sqlite3"


@pytest.fixture
def node(node_db: Path) -> Iterator[RunningNode]:
    with RunningNode(node_db) as running:
        yield running


@pytest.fixture
def node_url(node: RunningNode) -> str:
    return node.url


@pytest_asyncio.fixture
async def client(node: RunningNode) -> AsyncIterator[XmtpClient]:
    """A client that gives up fast (one retry), so that a dead node fails the test quickly."""
    async with XmtpClient(node.url, retries=1, backoff_s=0.01) as connected:
        yield connected


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli(*argv)``: ``xmtp-keys`` in this process -> ``(exit code, stdout, stderr)``."""
    return runner(capsys.readouterr)


@pytest.fixture
def secrets() -> MemoryStore:
    """An in-memory secret store (the real Secret Service runs in tests/flows/test_keyring.py)."""
    return MemoryStore()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP session for tests that speak to a server directly."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
