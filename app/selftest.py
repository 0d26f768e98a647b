"""``xmtp-companion --self-test``: prove a build works with nothing but itself.

Starts the embedded node on a free loopback port in a temporary directory, creates a keystore
wallet, runs the generation flow, rotates the pre-key, logs in again from a fresh vault
(retrieval), looks itself up, then opens and closes the main window offscreen.  Prints one line:
``self-test ok: …`` (exit 0) or ``self-test FAILED at <step>: <reason>`` (exit 1).  No private
key or password is ever printed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class StepFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


async def _step(name: str, done: list[str], work: Callable[[], Awaitable[T]]) -> T:
    try:
        result = await work()
    except StepFailed:
        raise
    except Exception as exc:
        raise StepFailed(name, str(exc) or type(exc).__name__) from None
    done.append(name)
    return result


def _check(condition: bool, step: str, reason: str) -> None:
    if not condition:
        raise StepFailed(step, reason)


async def _engine_steps(tmp: Path, node_url: str, done: list[str]) -> None:
    from app.keyengine.flows import KeyFlows
    from app.keyengine.network import XmtpClient
    from app.keyengine.vault import Vault
    from app.keyengine.wallets.keystore import KeystoreSigner, create_keystore

    password = secrets.token_urlsafe(16)
    keyfile = tmp / "wallet.json"

    async def keystore() -> KeystoreSigner:
        await create_keystore(keyfile, password)
        return await KeystoreSigner.unlock(keyfile, password)

    signer = await _step("keystore", done, keystore)
    async with XmtpClient(node_url) as client:
        flows = KeyFlows(client, Vault(tmp / "data", None))
        identity = await _step("generate", done, lambda: flows.login(signer))
        _check(identity.source == "generated", "generate", f"source is {identity.source}")
        rotated = await _step("rotate", done, lambda: flows.rotate_prekey(signer, identity))
        _check(len(rotated.bundle.pre_keys) == 2, "rotate", "the pre-key history was not kept")
        fresh = KeyFlows(client, Vault(tmp / "fresh", None))
        again = await _step("retrieve", done, lambda: fresh.login(signer))
        _check(again.source == "retrieved", "retrieve", f"source is {again.source}")
        _check(again.bundle == rotated.bundle, "retrieve", "retrieved keys differ")
        found = await _step("lookup", done, lambda: fresh.lookup(signer.address))
        _check(found.valid, "lookup", "; ".join(found.errors) or "contact not valid")
        current = rotated.bundle.current_pre_key.public_key.point
        _check(
            found.contact is not None and found.contact.pre_key_point == current,
            "lookup",
            "published pre-key is not the current one",
        )


def _window_step(tmp: Path, node_url: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.companion.application import create_application
    from app.companion.context import AppContext, AppOptions
    from app.companion.views.main_window import MainWindow

    app = create_application()
    context = AppContext(AppOptions(data_dir=tmp / "gui", node_url=node_url, secrets=lambda: None))
    window = MainWindow(context)
    window.show()
    app.processEvents()
    if not window.isVisible():
        raise StepFailed("window", "the main window did not show")
    window.close()
    app.processEvents()


def run() -> int:
    """Run every step; return the process exit code."""
    from app.xmtpnode.embedded import EmbeddedNode

    started = time.perf_counter()
    done: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="xmtp-selftest-") as name:
            tmp = Path(name)
            node = EmbeddedNode(db_path=tmp / "node.sqlite3")
            try:
                url = node.start()
            except Exception as exc:
                raise StepFailed("node", str(exc) or type(exc).__name__) from None
            done.append("node")
            try:
                asyncio.run(_engine_steps(tmp, url, done))
                try:
                    _window_step(tmp, url)
                except StepFailed:
                    raise
                except Exception as exc:
                    raise StepFailed("window", str(exc) or type(exc).__name__) from None
                done.append("window")
            finally:
                node.stop()
    except StepFailed as failed:
        print(f"self-test FAILED at {failed.step}: {failed.reason}")
        return 1
    print(f"self-test ok: {', '.join(done)} ({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(run())
