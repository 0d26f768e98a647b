"""Fixtures of the node tests: two identities, a token and a raw HTTP session.

The node itself is ``node`` from ``tests/conftest.py`` (a ``RunningNode``); the HTTP calls
are in ``tests/support/message_api.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner


@pytest.fixture(scope="session")
def alice() -> PrivateKeyBundleV1:
    return asyncio.run(generate_identity(RawKeySigner(bytes.fromhex("11" * 32))))


@pytest.fixture(scope="session")
def bob() -> PrivateKeyBundleV1:
    return asyncio.run(generate_identity(RawKeySigner(bytes.fromhex("22" * 32))))


@pytest.fixture
def alice_token(alice: PrivateKeyBundleV1) -> str:
    return create_auth_token(alice)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
