"""What one method call works with: the current keys and that account's state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keys import PrivateKey
from app.keyengine.keystore_service.errors import INVALID_INPUT, KeystoreMethodError
from app.keyengine.keystore_service.state import KeystoreState

Item = TypeVar("Item")
_THIRTY_DAYS_MS = 1000 * 60 * 60 * 24 * 30


@dataclass(frozen=True, slots=True)
class CallContext:
    bundle: PrivateKeyBundleV1
    address: str
    state: KeystoreState
    clock_ns: Callable[[], int] = time.time_ns
    pinned_pre_key: bytes = b""
    """The pre-key this app was last given (``getPublicKeyBundle``): its "current" one."""

    @property
    def app_pre_keys(self) -> tuple[PrivateKey, ...]:
        """Pre-keys as the app sees them: from the one it advertises on, newest first.

        xmtp-js caches its public bundle at ``Client.create`` and keeps putting it in the
        messages it signs (``signDigest`` with ``prekeyIndex``) and encrypts (``encryptV1``);
        after a rotation in the companion that app must go on signing with the pre-key it
        advertises, or its peers see an invalid signature.  A new ``Client`` gets the new one.
        """
        keys = self.bundle.pre_keys
        for index, key in enumerate(keys):
            if key.public_key.point == self.pinned_pre_key:
                return keys[index:]
        return keys

    def thirty_day_period(self) -> int:
        return self.clock_ns() // 1_000_000 // _THIRTY_DAYS_MS


def require(condition: object, field: str) -> None:
    """xmtp-js's ``validateObject``: a missing message field or an empty list is bad input."""
    if not condition:
        raise KeystoreMethodError(INVALID_INPUT, f"Missing field {field}")


def answer_each(
    items: Iterable[Item],
    responses: Any,
    work: Callable[[Item, Any], None],
    default_code: int,
) -> None:
    """One ``Response`` per item, a ``result`` or an ``error``; one bad item fails only itself.

    ``work(item, success)`` fills the ``Success`` message it is given; any failure becomes a
    ``KeystoreError`` with ``default_code`` unless it carries its own.  Messages are the
    engine's typed errors (never key material).
    """
    for item in items:
        response = responses.add()
        try:
            success = type(response.result)()
            work(item, success)
        except KeystoreMethodError as exc:
            response.error.code = exc.code
            response.error.message = exc.message
        except Exception as exc:  # every item failure is reported, never raised
            response.error.code = default_code
            response.error.message = str(exc) or type(exc).__name__
        else:
            response.result.CopyFrom(success)
