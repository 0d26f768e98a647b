"""Rejection, wrong password, node down, dead node URL, cancel: each ends clearly, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.companion.qt import Qt
from tests.support.keystores import make_keystore


def test_reject_in_the_prompt_then_try_again(make_app: Any, tmp_path: Path) -> None:
    path, address = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, "correct horse")
    app.answer(approve=False)
    app.wait_idle()
    error = app.ops.last_error
    assert error is not None and error.title == "You declined" and error.quiet
    assert app.window.errors.current is None  # a choice, not an error dialog
    assert "declined" in app.window.message.text()
    assert app.context.accounts.current is None
    assert app.window.screens.connect.unlock_button.isEnabled()
    entries = app.context.activity.load()
    assert [e.result for e in entries if e.kind == "signature"] == ["declined"]
    assert [(e.summary, e.result) for e in entries if e.kind == "action"] == [
        ("Unlocking your keys", "You declined")
    ]

    app.unlock_keystore(path, "correct horse")
    app.answer()
    app.answer()
    app.wait_idle()
    assert app.context.accounts.current.address == address


def test_wrong_keystore_password(make_app: Any, tmp_path: Path) -> None:
    path, _ = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, "wrong horse")
    app.wait_idle()
    error = app.ops.last_error
    assert error is not None and error.title == "Wrong password"
    assert "Traceback" not in error.message + error.hint
    assert app.window.errors.current is not None  # a dialog with a way forward
    assert app.window.errors.current.informativeText() == error.hint
    assert app.prompts == []
    assert app.context.accounts.current is None
    assert app.window.screens.connect.keystore_password.text() == ""
    assert app.window.screens.connect.keystore_path.text() == str(path)


def test_node_stopped_disables_rotation_until_it_runs_again(make_app: Any, tmp_path: Path) -> None:
    """While the node is down, Rotate is disabled and says why (the node failing in the
    middle of a rotation, pending then published, is ``test_offline.py``)."""
    path, _ = make_keystore(tmp_path)
    app = make_app(node_url=None)  # the app's own embedded node, in its data dir
    assert app.context.node.embedded and app.context.node.state.value == "online"
    app.unlock_keystore(path, "correct horse")
    app.answer()
    app.answer()
    app.wait_idle()
    prekeys = app.window.screens.prekeys
    assert prekeys.rotate_button.isEnabled()

    app.run(app.context.node.stop())
    assert app.window.node_label.text() == "Node stopped"
    assert not prekeys.rotate_button.isEnabled()
    assert prekeys.rotate_button.toolTip() == "The node is not running yet."
    assert not app.window.screens.backup.restore_button.isEnabled()
    assert app.window.screens.backup.export_button.isEnabled()  # needs no node

    app.run(app.context.apply_node("", True))
    assert app.context.node.state.value == "online"
    assert prekeys.rotate_button.isEnabled() and prekeys.rotate_button.toolTip() == ""
    app.click(prekeys.rotate_button)
    app.answer()
    app.wait_idle()
    assert app.ops.last_error is None
    assert app.window.prekeys_vm.model.rowCount() == 2


def test_dead_node_url(make_app: Any, tmp_path: Path) -> None:
    path, _ = make_keystore(tmp_path)
    app = make_app(node_url="http://127.0.0.1:9")
    assert app.context.node.state.value == "offline"
    assert app.window.node_label.text() == "Node not reachable"
    view = app.window.screens.connect
    view.keystore_path.setText(str(path))
    # Connecting needs the node: disabled, and the tooltip says which node and what happens.
    assert not view.unlock_button.isEnabled()
    assert "http://127.0.0.1:9 is not reachable" in view.unlock_button.toolTip()
    assert app.context.accounts.current is None


def test_cancel_while_a_prompt_waits(make_app: Any, tmp_path: Path) -> None:
    path, address = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, "correct horse")
    app.qtbot.waitUntil(lambda: app.context.prompter.current is not None, timeout=10000)
    panel = app.window.progress
    assert panel.isVisible()
    app.qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    app.wait_idle()
    assert app.context.prompter.current is None
    assert app.ops.last_error.title == "Cancelled"
    assert not panel.isVisible()
    assert app.context.accounts.current is None
    entries = app.context.activity.load()
    assert [e.result for e in entries if e.kind == "signature"] == ["cancelled"]
    assert [e.result for e in entries if e.kind == "action"] == ["Cancelled"]

    app.answered = len(app.prompts)  # the cancelled prompt was never answered
    app.unlock_keystore(path, "correct horse")
    app.answer()
    app.answer()
    app.wait_idle()
    assert app.context.accounts.current.address == address
