"""Validated auth tokens, remembered: an SDK sends the same token with every publish for an
hour, and checking it costs two secp256k1 operations (~0.2 ms), most of a publish's CPU time.

A token string that validated once always names the same wallet (its signatures do not
change), so only its age is checked again on later uses.  Invalid tokens are never remembered,
and the memory is bounded (oldest entries go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from app.keyengine.authn import ValidatedToken, check_token_age, validate_auth_token

MAX_REMEMBERED: Final = 4096


class TokenCache:
    """``validate(token, now_ns)`` as ``validate_auth_token`` does, remembering successes."""

    def __init__(self, capacity: int = MAX_REMEMBERED) -> None:
        self._capacity = capacity
        self._validated: OrderedDict[str, ValidatedToken] = OrderedDict()
        self._lock = threading.Lock()

    def validate(self, token: str, now_ns: int) -> ValidatedToken:
        with self._lock:
            known = self._validated.get(token)
            if known is not None:
                self._validated.move_to_end(token)
        if known is not None:
            check_token_age(known.created_ns, now_ns=now_ns)
            return known
        validated = validate_auth_token(token, now_ns=now_ns)
        with self._lock:
            self._validated[token] = validated
            while len(self._validated) > self._capacity:
                self._validated.popitem(last=False)
        return validated


VALIDATED_TOKENS: Final = TokenCache()
"""The node's token memory (process-wide: tokens mean the same to every server in it)."""
