"""Shared fixtures: the protocol vectors (``tests/vectors/``), signers, a PostgreSQL server."""

from __future__ import annotations

from typing import Any

import pytest

from app.keyengine.wallets import RawKeySigner
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
