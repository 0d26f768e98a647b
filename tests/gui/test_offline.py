"""Node offline: actions that need it are disabled with the reason; what was signed meanwhile
is shown as pending and published by the app when the node answers; the status bar shows only
the latest state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.companion.qt import Qt
from app.companion.signing import SignerKind
from app.companion.viewmodels.prekeys import PENDING_TEXT
from app.keyengine.flows import KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner
from tests.support.keystores import PASSWORD, make_keystore
from tests.support.node import RunningNode


def test_offline_rotation_is_pending_then_published_and_lookup_agrees(
    make_app: Any, tmp_path: Path
) -> None:
    with RunningNode(tmp_path / "node.sqlite3") as node:
        path, address = make_keystore(tmp_path)
        app = make_app(node_url=node.url)
        app.unlock_keystore(path, PASSWORD)
        app.answer()
        app.answer()
        app.wait_idle()
        prekeys = app.window.screens.prekeys
        lookup = app.window.screens.lookup
        app.window.show_screen(prekeys)
        assert prekeys.pending.text() == "published"
        before = prekeys.current_key.text()

        # The node goes away between two probes: the rotation is signed, kept, and pending.
        node.stop()
        app.click(prekeys.rotate_button)
        prompt = app.answer()
        app.wait_idle()
        assert prompt.title == "Protect and store your keys"
        assert app.ops.last_error is None
        assert prekeys.current_key.text() != before
        assert prekeys.pending.text() == PENDING_TEXT
        assert app.window.message.text() == PENDING_TEXT

        # Once the app sees the node offline, what needs it is disabled, saying why.
        app.run(app.context.node.check())
        for widget in (prekeys.rotate_button, lookup.lookup_button):
            assert not widget.isEnabled()
            assert "not reachable" in widget.toolTip()

        # The node answers again: re-enabled, and the pending pre-key is published by itself.
        node.start()
        app.run(app.context.node.check())
        app.qtbot.waitUntil(lambda: prekeys.pending.text() == "published", timeout=15_000)
        assert prekeys.rotate_button.isEnabled() and lookup.lookup_button.isEnabled()
        assert prekeys.rotate_button.toolTip() == ""
        assert "Published what was signed" in app.window.message.text()

        app.window.show_screen(lookup)
        lookup.address.setText(address)
        app.click(lookup.lookup_button)
        app.wait_idle()
        assert lookup.pre_key.text() == prekeys.current_key.text()
        assert lookup.fingerprint.text() == prekeys.fingerprint.text()
        assert lookup.identity_fingerprint.text() == (
            app.window.screens.identity.fingerprint.text()
        )


def test_the_status_bar_shows_the_latest_state_only(make_app: Any, tmp_path: Path) -> None:
    path, address = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, "not the password")
    app.wait_idle()
    assert app.ops.last_error is not None
    assert app.window.message.text() != ""
    wrong = app.window.message.text()

    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    assert wrong not in app.window.message.text()
    assert address in app.window.message.text()

    # A long message is elided on one line, whole in the tooltip; the page keeps its height.
    app.qtbot.wait(50)
    height = app.window.stack.height()
    long_text = "word " * 400
    app.window.message.setText(long_text)
    app.qtbot.wait(50)
    assert app.window.stack.height() == height
    assert app.window.message.toolTip() == long_text
    assert len(app.window.message.displayed()) < len(long_text)

    # Another account shown: nothing said about the first one lingers.
    other_path, other = make_keystore(tmp_path)
    app.unlock_keystore(other_path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    assert other in app.window.message.text()
    app.context.accounts.switch(address)
    assert app.window.message.text() == ""


def test_keys_changed_elsewhere_show_after_a_refresh_on_focus(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app()
    wallet = RawKeySigner(os.urandom(32))
    connecting = app.run.start(app.window.connect_vm.connect_signer(wallet, SignerKind.RAW_KEY))
    app.answer()
    app.answer()
    app.run.wait(connecting)
    account = app.context.accounts.current
    model = app.window.prekeys_vm.model
    assert model.rowCount() == 1

    async def elsewhere(vault: Vault) -> None:
        async with XmtpClient(app.context.engine.node_url) as client:
            flows = KeyFlows(client, vault)
            await flows.rotate_prekey(wallet, await flows.login(wallet))

    # The CLI on this machine (same keyring) rotates; focusing the window shows the new key.
    app.run(elsewhere(app.context.engine.vault))
    done = app.context.pending.refreshes
    app.window._application_state(Qt.ApplicationState.ApplicationActive)
    app.qtbot.waitUntil(lambda: app.context.pending.refreshes > done, timeout=10_000)
    assert model.rowCount() == 2
    assert account.identity.bundle == app.context.engine.vault.load_bundle(wallet.address)

    # Another machine (its own keyring) rotates: the app says so; only the wallet can load it.
    app.run(elsewhere(Vault(tmp_path / "other-machine", MemoryStore())))
    done = app.context.pending.refreshes
    app.window._application_state(Qt.ApplicationState.ApplicationActive)
    app.qtbot.waitUntil(lambda: app.context.pending.refreshes > done, timeout=10_000)
    assert "changed on another machine" in app.window.message.text()
