"""Closing a signer: the one place that knows ``aclose`` is optional.

Signers that hold something (an HTTP session, a relay connection) have ``async aclose()``; a
raw key or a keystore holds nothing and has none.  Front ends close every signer the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable


async def close_signer(signer: object) -> None:
    """Release what ``signer`` holds, if anything."""
    aclose: Callable[[], Awaitable[None]] | None = getattr(signer, "aclose", None)
    if aclose is not None:
        await aclose()
