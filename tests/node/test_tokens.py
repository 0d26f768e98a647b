"""Remembered auth tokens: a token validated once is checked only for age afterwards."""

from __future__ import annotations

import time

import pytest

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.errors import InvalidToken, TokenExpired
from app.xmtpnode.tokens import TokenCache

HOUR_NS = 3600 * 10**9


def test_remembered_token_still_expires(alice: PrivateKeyBundleV1) -> None:
    cache = TokenCache()
    now = time.time_ns()
    token = create_auth_token(alice, created_ns=now)
    assert cache.validate(token, now).wallet_address == alice.wallet_address
    assert cache.validate(token, now + HOUR_NS // 2).wallet_address == alice.wallet_address
    with pytest.raises(TokenExpired):
        cache.validate(token, now + 2 * HOUR_NS)
    with pytest.raises(TokenExpired):
        cache.validate(token, now - HOUR_NS)  # dated in the future


def test_invalid_tokens_are_not_remembered_and_memory_is_bounded(
    alice: PrivateKeyBundleV1,
) -> None:
    cache = TokenCache(capacity=2)
    now = time.time_ns()
    tokens = [create_auth_token(alice, created_ns=now - i) for i in range(3)]
    for token in tokens:
        cache.validate(token, now)
    assert len(cache._validated) == 2
    assert tokens[0] not in cache._validated
    tampered = tokens[0][:-8] + ("A" * 8 if tokens[0][-8:] != "A" * 8 else "B" * 8)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            cache.validate(tampered, now)
    assert tampered not in cache._validated
