"""Fixtures of the keystore-service tests: a real server on a loopback port, real keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service.apps import AppRegistry
from app.keyengine.keystore_service.methods import KeystoreMethods
from app.keyengine.keystore_service.server import CallRecord, KeystoreServer
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner


@dataclass
class Keys:
    """The bundle the service serves; ``None`` means locked.  Tests rotate or lock through it."""

    bundle: PrivateKeyBundleV1 | None

    def __call__(self) -> PrivateKeyBundleV1 | None:
        return self.bundle


@dataclass
class Service:
    server: KeystoreServer
    registry: AppRegistry
    keys: Keys
    data_dir: Path
    token: str
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url


async def make_bundle(seed: int) -> PrivateKeyBundleV1:
    return await generate_identity(RawKeySigner(bytes([seed]) * 32))


@pytest.fixture(scope="session")
def bob_bundle() -> PrivateKeyBundleV1:
    return asyncio.run(make_bundle(0x0B))


@pytest.fixture(scope="session")
def alice_bundle() -> PrivateKeyBundleV1:
    return asyncio.run(make_bundle(0x0A))


@pytest_asyncio.fixture
async def service(tmp_path: Path, bob_bundle: PrivateKeyBundleV1) -> AsyncIterator[Service]:
    registry = AppRegistry(tmp_path / "keystore")
    token = registry.allow("bob-app")
    keys = Keys(bob_bundle)
    calls: list[CallRecord] = []
    server = KeystoreServer(
        KeystoreMethods(keys, tmp_path / "keystore" / "state"), registry, on_call=calls.append
    )
    await server.start()
    try:
        yield Service(server, registry, keys, tmp_path, token, calls)
    finally:
        await server.stop()
