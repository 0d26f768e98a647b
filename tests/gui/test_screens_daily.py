"""Screens a person compares and reads: one fingerprint everywhere, keys said where they
live, WalletConnect explained before pairing with one Cancel."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from app.companion.qt import QPushButton, Qt
from app.companion.walletconnect import WalletConnectOptions
from app.keyengine.fingerprints import key_fingerprint
from app.walletconnect import PROJECT_ID_ENV
from app.walletconnect.events import PairingUriReady
from tests.support.keystores import PASSWORD, make_keystore


def test_one_fingerprint_in_the_prompt_identity_pre_keys_and_lookup(
    make_app: Any, tmp_path: Path
) -> None:
    path, address = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    bundle = app.context.accounts.current.identity.bundle
    identity_print = key_fingerprint(bundle.identity_key.public_key.point)
    assert app.window.screens.identity.fingerprint.text() == identity_print
    prekeys = app.window.screens.prekeys
    pre_print = key_fingerprint(bundle.current_pre_key.public_key.point)
    assert prekeys.fingerprint.text() == pre_print
    lookup = app.window.screens.lookup
    lookup.address.setText(address)
    app.click(lookup.lookup_button)
    app.wait_idle()
    assert lookup.identity_fingerprint.text() == identity_print
    assert lookup.fingerprint.text() == pre_print

    # The Create Identity prompt of a second identity shows what its Identity screen shows.
    other_path, _ = make_keystore(tmp_path)
    shown: list[str] = []
    app.context.prompter.shown.connect(lambda dialog: shown.append(dialog.fingerprint.text()))
    app.unlock_keystore(other_path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    other = app.context.accounts.current.identity.bundle
    assert shown[0] == key_fingerprint(other.identity_key.public_key.point)
    assert shown[0] == app.window.screens.identity.fingerprint.text()


def test_without_a_keyring_remembering_is_disabled_with_the_reason(make_app: Any) -> None:
    app = make_app(secrets_store=None)
    settings = app.window.screens.settings
    assert not settings.remember.isEnabled() and not settings.remember.isChecked()
    assert "no usable OS keyring" in settings.remember.toolTip()
    assert settings.kept.text().startswith("Private keys are kept: nowhere on this machine")


def test_walletconnect_tab_explains_the_project_id_and_has_one_cancel(
    make_app: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv(PROJECT_ID_ENV, raising=False)
    pairing = asyncio.Event()

    async def factory(options: WalletConnectOptions) -> Any:
        uri = "wc:" + "ab" * 32 + "@2?relay-protocol=irn&symKey=" + "cd" * 32
        options.on_event(PairingUriReady(uri=uri, expires_at=int(time.time()) + 300))
        await pairing.wait()  # never scanned: the person cancels

    app = make_app(walletconnect=factory)
    app.context.settings.project_id = ""
    app.context.save_settings()
    view = app.window.screens.connect
    view.tabs.setCurrentIndex(2)
    tab = view.walletconnect
    # Before anything is pressed: why a project id is needed, where it goes, the variable.
    assert tab.wc_project_note.isVisible() and PROJECT_ID_ENV in tab.wc_project_note.text()
    tab.wc_project_id.setText("my-project")
    tab.wc_project_id.editingFinished.emit()
    assert app.context.settings.project_id == "my-project"
    assert app.window.screens.settings.project_id.text() == "my-project"
    assert not tab.wc_project_note.isVisible()

    app.click(view.wc_button)
    app.qtbot.waitUntil(lambda: view.wc_link.isVisible(), timeout=5000)
    assert "Scan the code" in view.wc_status.text()
    cancels = [
        b for b in app.window.findChildren(QPushButton) if b.text() == "Cancel" and b.isVisible()
    ]
    assert cancels == [app.window.progress.cancel_button]  # one Cancel, not two
    app.qtbot.mouseClick(cancels[0], Qt.MouseButton.LeftButton)
    app.wait_idle()
    assert view.wc_status.text() == ""  # no leftover "Scan the code…"
    assert not view.wc_link.isVisible() and view.qr_label.data == ""
    assert os.environ.get(PROJECT_ID_ENV) is None


def test_tables_fit_their_headers_copy_says_copied_and_screens_offer_connect(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app()
    window = app.window
    # Disconnected: screens that need an account offer the way to Connect.
    window.show_screen(window.screens.identity)
    assert window.connect_bar.isVisible()
    for widget in (
        window.screens.prekeys.rotate_button,
        window.screens.backup.export_button,
        window.screens.invites.load_button,
    ):  # what cannot work now is disabled, saying why
        assert not widget.isEnabled()
        assert widget.toolTip() == "Connect a wallet first (Connect screen)."
    app.qtbot.mouseClick(window.connect_bar_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.screens.connect
    assert not window.connect_bar.isVisible()

    path, _ = make_keystore(tmp_path)
    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    window.show_screen(window.screens.identity)
    assert not window.connect_bar.isVisible()
    assert window.screens.prekeys.rotate_button.isEnabled()
    assert window.screens.prekeys.rotate_button.toolTip() == ""
    copy = window.screens.identity.wallet.copy_button
    app.qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert copy.text() == "Copied"
    app.qtbot.waitUntil(lambda: copy.text() == "Copy", timeout=5000)

    assert (window.width(), window.height()) == (1100, 720)  # the default size
    for screen in (window.screens.prekeys, window.screens.invites, window.screens.activity):
        window.show_screen(screen)
        app.qtbot.wait(20)
        table = screen.table
        header = table.horizontalHeader()
        metrics = header.fontMetrics()
        columns = table.model().columnCount()
        for column in range(columns):
            title = str(table.model().headerData(column, Qt.Orientation.Horizontal))
            assert header.sectionSize(column) >= metrics.horizontalAdvance(title), title
        used = sum(header.sectionSize(c) for c in range(columns))
        assert used <= table.viewport().width() + 1, type(screen).__name__


def test_settings_and_identity_say_the_same_where_keys_live(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    settings = app.window.screens.settings
    assert settings.kept.text() == "Private keys are kept: memory of this process only"
    settings.remember.setChecked(False)
    app.click(settings.apply_button)
    app.wait_idle()
    path, _ = make_keystore(tmp_path)
    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    kept = app.window.screens.identity.kept.text()
    assert kept.startswith("nowhere on this machine (remembering is off in Settings)")
    assert settings.kept.text() == f"Private keys are kept: {kept}"
    assert app.context.engine.vault.load_bundle(app.context.accounts.current.address) is None
