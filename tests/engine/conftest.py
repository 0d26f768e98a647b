"""Fixtures of the engine tests; ``wallet`` and ``other_wallet`` come from ``tests/conftest.py``.

Engine tests mirror the engine's layout: one file per module of ``app/keyengine`` they
exercise.  Deterministic identities and byte helpers are in ``tests/support/identities.py``.
"""

from __future__ import annotations

import pytest

from app.keyengine.wallets import RawKeySigner


@pytest.fixture
def carol_wallet() -> RawKeySigner:
    return RawKeySigner(bytes.fromhex("33" * 32))
