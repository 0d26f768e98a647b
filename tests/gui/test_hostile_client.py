"""The desktop app against hostile inputs: a slow keystore unlock stops on Cancel, a costly
keystore, a lying node and a smart-contract wallet each end in a plain explanation."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

from app.companion.errors import explain
from app.companion.qt import Qt
from app.keyengine.errors import SmartContractWallet
from tests.support.hostile import hostile_node
from tests.support.keystores import make_keystore


def _with_kdf(path: Path, **kdfparams: int) -> Path:
    document = json.loads(path.read_text())
    document["crypto"]["kdfparams"].update(kdfparams)
    path.write_text(json.dumps(document))
    return path


def test_cancel_stops_a_slow_keystore_unlock_within_a_second(make_app: Any, tmp_path: Path) -> None:
    path, _ = make_keystore(tmp_path)
    _with_kdf(path, n=2**18, r=8, p=4)  # the most work allowed: several seconds
    app = make_app()
    app.unlock_keystore(path, "correct horse")
    app.qtbot.waitUntil(lambda: len(multiprocessing.active_children()) == 1, timeout=10000)
    panel = app.window.progress
    assert panel.isVisible()
    started = time.monotonic()
    app.qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    app.wait_idle()
    assert time.monotonic() - started < 1.0
    assert app.ops.last_error.title == "Cancelled"
    assert multiprocessing.active_children() == []
    assert app.context.accounts.current is None


def test_a_costly_keystore_is_explained(make_app: Any, tmp_path: Path) -> None:
    path, _ = make_keystore(tmp_path)
    _with_kdf(path, n=2, r=65536, p=1)
    app = make_app()
    app.unlock_keystore(path, "correct horse")
    app.wait_idle()
    error = app.ops.last_error
    assert error.title == "Keystore too costly to open"
    assert "4× the standard cost" in error.detail
    assert app.prompts == []


def test_a_lying_node_is_explained(make_app: Any, tmp_path: Path) -> None:
    path, _ = make_keystore(tmp_path)
    with hostile_node("nested") as url:
        app = make_app(node_url=url)
        app.unlock_keystore(path, "correct horse")
        app.wait_idle()
        error = app.ops.last_error
        assert error.title == "Node misbehaving"
        assert "nested too deeply" in error.detail
        assert app.context.accounts.current is None


def test_a_smart_contract_wallet_is_explained() -> None:
    error = explain(SmartContractWallet("its signature has 97 bytes, not 65"))
    assert error.title == "Smart-contract wallet"
    assert error.message == (
        "This account is a smart-contract wallet; XMTP v2 identities need an ordinary account."
    )
    assert "97 bytes" in error.detail
