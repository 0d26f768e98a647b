"""Fixtures of the node tests: two identities, a token, a raw HTTP session, and the backends.

The node itself is ``node`` from ``tests/conftest.py`` (a ``RunningNode`` over ``node_db``);
here ``node_db`` is parametrised, so every test that takes ``node``, ``db_spec`` or
``storage_factory`` runs once per backend: a temp SQLite file, and a fresh database on the
session's real PostgreSQL server (``tests/support/postgres.py``).  The HTTP calls are in
``tests/support/message_api.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.storage import Storage, open_storage

BACKENDS = ("sqlite", "postgresql")


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
def node_db(db_spec: str) -> str:
    """The node tests' nodes keep their data on each backend in turn."""
    return db_spec


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
