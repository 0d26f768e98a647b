"""Lookup, invitations, backup, accounts, and every control named for assistive technology."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from app.companion.qt import QAbstractButton, QAbstractItemView, QLineEdit, Qt
from app.keyengine.crypto.ethereum import to_checksum_address
from tests.support.companion import App
from tests.support.keystores import make_keystore


def connect(app: App, tmp_path: Path) -> str:
    path, address = make_keystore(tmp_path)
    app.unlock_keystore(path, "correct horse")
    while app.answered < 2:
        app.answer()
    app.wait_idle()
    assert app.context.accounts.current.address == address
    return address


def test_lookup_valid_unknown_and_malformed(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    address = connect(app, tmp_path)
    view = app.window.screens.lookup
    app.window.show_screen(view)

    view.address.setText(address.lower())
    app.click(view.lookup_button)
    app.wait_idle()
    result = app.window.lookup_vm.result
    assert result is not None and result.valid
    assert result.address == address
    assert [step.ok for step in result.steps] == [True, True, True]
    assert view.summary.property("status") == "ok"
    assert view.steps.count() == 3
    assert all(view.steps.item(i).text().startswith("✔") for i in range(3))
    bundle = app.context.accounts.current.identity.bundle
    assert view.identity_key.text() == bundle.identity_key.public_key.point.hex()
    assert view.pre_key.text() == bundle.current_pre_key.public_key.point.hex()

    unknown = to_checksum_address("0x" + secrets.token_hex(20))
    view.address.setText(unknown)
    app.click(view.lookup_button)
    app.wait_idle()
    result = app.window.lookup_vm.result
    assert result is not None and not result.valid
    assert result.steps[0].ok is False
    assert "no XMTP identity" in result.steps[0].detail
    assert view.summary.property("status") == "bad"
    assert view.identity_key.text() == ""

    # A malformed address is said next to the field; nothing is sent (test_inline_errors.py).
    view.address.setText("not an address")
    app.qtbot.mouseClick(view.lookup_button, Qt.MouseButton.LeftButton)
    app.qtbot.waitUntil(lambda: view.address_problem.text() != "", timeout=5000)
    assert view.address_problem.text() == "This is not an Ethereum address: it must start with 0x."


def test_invitations_screen_reads_the_invite_topic(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    connect(app, tmp_path)
    view = app.window.screens.invites
    assert view.status.text() == "Not read yet."
    app.click(view.load_button)
    app.wait_idle()
    assert app.ops.last_error is None
    assert view.status.text() == "0 invitation(s)."
    assert app.window.invites_vm.model.rowCount() == 0


def test_backup_export_and_restore(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    connect(app, tmp_path)
    account = app.context.accounts.current
    backup = app.window.screens.backup
    target = tmp_path / "keys.xmtp"
    app.expected = app.started + 1
    backup.export_to(str(target))
    app.wait_idle()
    assert target.read_bytes() == account.identity.encrypted.to_bytes()
    assert target.stat().st_mode & 0o777 == 0o600
    assert "readable by you only" in backup.result.text()

    # A rotation after the backup; restoring the older backup keeps every pre-key.
    app.click(app.window.screens.prekeys.rotate_button)
    app.answer()
    app.wait_idle()
    assert len(account.identity.bundle.pre_keys) == 2
    app.expected = app.started + 1
    backup.restore_from(str(target))
    app.answer()  # open the file
    app.answer()  # store the keys again
    app.wait_idle()
    assert app.ops.last_error is None
    assert len(account.identity.bundle.pre_keys) == 2
    assert "Restored: 2 pre-key(s)" in backup.result.text()

    # Another wallet's backup is refused plainly.
    other = make_app()
    connect(other, tmp_path)
    other.expected = other.started + 1
    other.window.screens.backup.restore_from(str(target))
    other.answer()
    other.wait_idle()
    assert other.ops.last_error.title in ("Keys do not open", "Different wallet")

    not_a_backup = tmp_path / "junk.bin"
    not_a_backup.write_bytes(b"\x00junk")
    other.expected = other.started + 1
    other.window.screens.backup.restore_from(str(not_a_backup))
    other.wait_idle()
    assert other.ops.last_error.title == "Not an XMTP key file"


def test_accounts_side_by_side(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    first = connect(app, tmp_path)
    app.answered = 0
    app.prompts.clear()
    second = connect(app, tmp_path)
    assert first != second
    accounts = app.window.screens.accounts
    app.window.show_screen(accounts)
    assert accounts.list.count() == 2
    assert app.window.account_label.text() == f"Account: {second}"

    for row in range(accounts.list.count()):
        if accounts.list.item(row).data(Qt.ItemDataRole.UserRole) == first:
            accounts.list.setCurrentRow(row)
    app.qtbot.mouseClick(accounts.use_button, Qt.MouseButton.LeftButton)
    assert app.context.accounts.current.address == first
    assert app.window.screens.identity.wallet.text() == first
    bundle = app.context.accounts.current.identity.bundle
    assert app.window.screens.prekeys.current_key.text() == (
        bundle.current_pre_key.public_key.point.hex()
    )

    # Disconnect forgets the remembered account; the other stays.
    app.run(app.window.accounts_vm.forget_account(first))
    assert [a.address for a in app.context.settings.accounts] == [second]
    assert app.context.accounts.current.address == second
    assert accounts.list.count() == 1

    # A later start lists the remembered account; "Connect again" opens its remembered keys
    # with no prompt at all.
    later = make_app(app.context.data_dir)
    assert later.context.accounts.current is None
    rows = later.window.accounts_vm.rows()
    assert [(r.address, r.connected) for r in rows] == [(second, False)]
    later.expected = later.started + 1
    later.window.accounts_vm.reconnect(second)
    later.wait_idle()
    assert later.context.accounts.current.address == second
    assert later.prompts == []

    # Without remembered keys (no keyring) the Connect screen asks for the wallet instead.
    bare = make_app(app.context.data_dir, secrets_store=None)
    bare.window.accounts_vm.reconnect(second)
    connect_view = bare.window.screens.connect
    bare.qtbot.waitUntil(lambda: connect_view.keystore_path.text().endswith(".json"))
    assert bare.window.stack.currentWidget() is connect_view


def test_every_control_has_an_accessible_name(make_app: Any) -> None:
    app = make_app()
    window = app.window
    missing = [
        f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()}"
        for kind in (QAbstractButton, QLineEdit, QAbstractItemView)
        for widget in window.findChildren(kind)
        if not widget.accessibleName() and not widget.objectName().startswith("qt_")
    ]
    assert missing == []
    # Keyboard: Ctrl+3 shows the pre-keys screen.
    window.activateWindow()
    app.qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.screens.prekeys
