"""Mistakes are explained next to the field, in plain words, and lose nothing typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.companion.qt import QLineEdit, Qt

STRONG = "mauve-tiger-lantern-97"


def test_lookup_address_errors_and_checksum_warning_next_to_the_field(make_app: Any) -> None:
    app = make_app()
    view = app.window.screens.lookup
    app.window.show_screen(view)
    started = app.started
    view.address.setText("0x1234")
    app.qtbot.mouseClick(view.lookup_button, Qt.MouseButton.LeftButton)
    app.qtbot.waitUntil(lambda: view.address_problem.text() != "", timeout=5000)
    assert app.started == started  # nothing was sent
    assert view.address_problem.text() == (
        "This is not an Ethereum address: it needs 40 hex digits after 0x, it has 4."
    )
    assert view.address_problem.property("status") == "bad"
    assert app.window.errors.current is None  # no modal dialog
    assert view.address.text() == "0x1234"

    right = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    view.address.setText(right[:-1] + "D")
    app.click(view.lookup_button)
    app.wait_idle()
    assert view.address_problem.text() == f"Checksum does not match: did you mean {right}?"
    assert view.address_problem.property("status") == "warn"
    assert view.summary.text() == "No XMTP identity is published for this address."


def test_new_keystore_strength_mismatch_show_password_and_declined_retry(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app()
    view = app.window.screens.connect
    target = tmp_path / "new.json"
    view.new_path.setText(str(target))

    view.new_password.setText("abc123")
    view.new_repeat.setText("abc123")
    app.qtbot.mouseClick(view.create_button, Qt.MouseButton.LeftButton)
    app.qtbot.waitUntil(lambda: view.new_problem.text() != "", timeout=5000)
    assert view.new_problem.text().startswith("This password is too easy to guess (0 of 4).")
    assert view.new_password.text() == "abc123" and not target.exists()

    view.new_password.setText(STRONG)
    view.new_repeat.setText(STRONG + "!")
    app.qtbot.mouseClick(view.create_button, Qt.MouseButton.LeftButton)
    app.qtbot.waitUntil(lambda: "match" in view.new_problem.text(), timeout=5000)
    assert view.new_problem.text() == "The passwords do not match."
    assert view.new_repeat.text() == STRONG + "!"  # fields kept
    assert app.window.errors.current is None

    assert view.new_password.echoMode() is QLineEdit.EchoMode.Password
    view.show_password.setChecked(True)
    assert view.new_password.echoMode() is QLineEdit.EchoMode.Normal
    assert view.new_repeat.echoMode() is QLineEdit.EchoMode.Normal

    # Declining the first signature leaves no keystore behind; the retry then just works.
    view.new_repeat.setText(STRONG)
    app.click(view.create_button)
    app.answer(approve=False)
    app.wait_idle()
    assert not target.exists()
    assert app.context.accounts.current is None
    app.click(view.create_button)
    app.answer()
    app.answer()
    app.wait_idle()
    assert app.ops.last_error is None
    assert target.exists() and app.context.accounts.current is not None
