"""``READY``: an awaitable that is already done, for hot paths that usually need not wait.

``await READY`` returns None at once without creating a coroutine or a future; a function
that returns ``READY`` in its common case and a coroutine otherwise costs its callers one
``await`` either way.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Final


class _Ready:
    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


READY: Final = _Ready()
