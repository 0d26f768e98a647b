"""A keystore user: new identity (two prompts), rotations, returning with one signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.companion.qt import Qt
from app.keyengine.texts import SignaturePurpose, classify_text
from tests.support.keystores import make_keystore


def test_new_keystore_identity_then_two_rotations(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    view = app.window.screens.connect
    keystore = tmp_path / "new-wallet.json"
    view.new_path.setText(str(keystore))
    view.new_password.setText("mauve-tiger-lantern-97")
    view.new_repeat.setText("mauve-tiger-lantern-97")
    app.click(view.create_button)

    first = app.answer()
    second = app.answer()
    app.wait_idle()

    # Each prompt named its purpose and showed the exact text, with the key hex inside it.
    assert first.title == "Create your XMTP identity"
    assert first.request.purpose is SignaturePurpose.CREATE_IDENTITY
    assert first.text == first.request.text
    assert first.request.payload.hex() in first.text
    assert classify_text(first.text) == first.request
    assert second.title == "Protect and store your keys"
    assert second.request.purpose is SignaturePurpose.ENABLE_IDENTITY

    account = app.context.accounts.current
    assert account is not None
    assert keystore.exists() and (keystore.stat().st_mode & 0o777) == 0o600
    assert app.ops.last_error is None
    identity = app.window.screens.identity
    assert identity.wallet.text() == account.address
    assert identity.attestation.property("status") == "ok"
    assert first.account == account.address

    prekeys = app.window.screens.prekeys
    app.window.show_screen(prekeys)
    assert prekeys.isVisible()
    assert app.window.prekeys_vm.model.rowCount() == 1
    for _ in range(2):
        app.click(prekeys.rotate_button)
        dialog = app.answer()
        assert dialog.request.purpose is SignaturePurpose.ENABLE_IDENTITY
        app.wait_idle()
    model = app.window.prekeys_vm.model
    assert model.rowCount() == 3
    assert [model.index(r, 2).data() for r in range(3)] == ["current", "retired", "retired"]
    bundle = app.context.accounts.current.identity.bundle
    assert (
        model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
        == bundle.pre_keys[0].public_key.point.hex()
    )
    assert prekeys.current_key.text() == bundle.pre_keys[0].public_key.point.hex()
    assert prekeys.signature.property("status") == "ok"

    # The activity log kept every signature and publish (and no key material).
    entries = app.context.activity.load()
    signatures = [e for e in entries if e.kind == "signature"]
    assert [e.result for e in signatures] == ["signed"] * 4
    assert any(e.kind == "publish" for e in entries)
    raw = app.context.activity.path.read_text()
    assert all(key.secret.hex() not in raw for key in bundle.pre_keys)
    # The screen: one row per user action (create, two rotations), with its account.
    model = app.window.activity_vm.model
    actions = [e for e in entries if e.kind == "action"]
    assert [e.summary for e in actions] == [
        "Creating a new wallet",
        "Rotating your pre-key",
        "Rotating your pre-key",
    ]
    assert all(e.address == account.address and e.result == "done" for e in actions)
    assert model.rowCount() == len(actions)
    assert model.index(0, 1).data() == "Rotating your pre-key"

    # The private key is shown only after confirmation, then hidden on a timer.
    prekeys.table.selectRow(1)
    prekeys._ask_reveal()
    box = prekeys.confirm_box
    assert box is not None and not prekeys.secret.isVisible()
    app.qtbot.mouseClick(box.button(box.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert prekeys.secret.text() == bundle.pre_keys[1].secret.hex()
    assert prekeys.secret.isVisible()
    app.window.prekeys_vm._hide_timer.setInterval(50)
    app.window.prekeys_vm._hide_timer.start()
    app.qtbot.waitUntil(lambda: not prekeys.secret.isVisible(), timeout=3000)
    assert prekeys.secret.text() == ""


def test_returning_user_unlocks_with_one_signature(make_app: Any, tmp_path: Path) -> None:
    path, address = make_keystore(tmp_path)
    first = make_app()
    first.unlock_keystore(path, "correct horse")
    first.answer()
    first.answer()
    first.wait_idle()
    assert first.context.accounts.current.address == address
    created = first.context.accounts.current.identity.bundle

    # A later start (fresh data dir: nothing on this machine) unlocks from the node.
    again = make_app()
    again.unlock_keystore(path, "correct horse")
    dialog = again.answer()
    again.wait_idle()
    assert len(again.prompts) == 1
    assert dialog.title == "Unlock your keys"
    account = again.context.accounts.current
    assert account.identity.source == "retrieved"
    assert account.identity.bundle == created
    assert again.window.screens.identity.source.text() == "unlocked from the node"
    # The account (never the password) is remembered.
    saved = (again.context.data_dir / "companion-settings.json").read_text()
    assert address in saved and "correct horse" not in saved
