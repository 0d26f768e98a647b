"""Fixtures for flow tests: a vault in a temp dir and flows on the shared ``client``.

``node`` and ``client`` (a real node on a loopback port, the engine's client) come from
``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.keyengine.flows import FlowEvent, KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import MemoryStore, Vault


@pytest.fixture
def vault(tmp_path: Path, secrets: MemoryStore) -> Vault:
    return Vault(tmp_path / "data", secrets)


@pytest.fixture
def events() -> list[FlowEvent]:
    return []


@pytest.fixture
def flows(client: XmtpClient, vault: Vault, events: list[FlowEvent]) -> KeyFlows:
    return KeyFlows(client, vault, events.append)
