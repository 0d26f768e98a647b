"""Shared fixtures: the protocol vectors (read from ../shared, never copied) and signers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.keyengine.wallets import RawKeySigner

REPO = Path(__file__).resolve().parent.parent
VECTORS_PATH = REPO.parent / "shared" / "protocol" / "xmtp-vectors.json"


def load_vectors() -> dict[str, dict[str, Any]]:
    data = json.loads(VECTORS_PATH.read_text())
    return {vector["id"]: vector for vector in data["vectors"]}


@pytest.fixture(scope="session")
def vectors() -> dict[str, dict[str, Any]]:
    return load_vectors()


@pytest.fixture
def wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("11" * 32))


@pytest.fixture
def other_wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("22" * 32))
