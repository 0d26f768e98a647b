"""What the ``xmtp-keys`` tests for people share: running the CLI, reading its error line.

``error_of`` checks the one error line is a sentence free of the libraries' words (aiohttp's
"ssl:default [Connect call failed …]", exception class names).  ``threaded_stub_wallet`` runs
the JSON-RPC stub wallet on its own thread and loop, since ``main`` runs its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from app.cli.main import main
from app.keyengine.wallets import RawKeySigner
from tests.support.ports import free_port
from tests.support.rpc_wallet_stub import StubWallet, running_stub

WALLET_HEX: Final = "5e" * 32
WALLET: Final = RawKeySigner(bytes.fromhex(WALLET_HEX)).address
ERROR_PREFIX: Final = "xmtp-keys: error: "
ISO_LOCAL: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
LIBRARY_WORDS: Final = (
    "ssl:default",
    "Connect call failed",
    "Errno",
    "aiohttp",
    "ClientConnector",
    "ConnectionRefusedError",
    "Name or service not known",
    "Traceback",
    "websockets",
)

Run = Callable[..., tuple[int, str, str]]
"""``run(*argv)`` -> ``(exit code, stdout, stderr)`` of ``main(argv)`` in this process."""


def runner(read: Callable[[], tuple[str, str]]) -> Run:
    """A ``Run`` that reads the captured output with ``read`` (``capsys.readouterr``)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = read()
        return code, out, err

    return run


def dead_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


def error_of(err: str) -> str:
    """The one error line without its prefix, checked to be free of library internals."""
    last = err.splitlines()[-1]
    assert last.startswith(ERROR_PREFIX), err
    assert err.count(ERROR_PREFIX) == 1
    for word in LIBRARY_WORDS:
        assert word not in err, f"{word!r} in {err!r}"
    return last[len(ERROR_PREFIX) :]


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@contextmanager
def threaded_stub_wallet() -> Iterator[StubWallet]:
    """The stub JSON-RPC wallet on its own thread and event loop for the ``with`` block."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[StubWallet] = []
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_stub() as wallet:
            holder.append(wallet)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
