"""Run by ``test_returning.py`` inside ``dbus-run-session``: a real gnome-keyring holds the keys.

Not collected on its own (its name does not start with ``test_``); the outer test passes this
file to a pytest started in a private D-Bus session, where a fresh gnome-keyring is unlocked.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.keystores import PASSWORD, make_keystore

pytestmark = pytest.mark.skipif(
    os.environ.get("XMTP_COMPANION_IN_DBUS") != "1", reason="runs inside dbus-run-session only"
)


@pytest.fixture
def secret_service() -> Any:
    subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
        input=b"test-password",
        check=True,
        capture_output=True,
        timeout=30,
    )
    from app.keyengine.vault import default_secret_store

    store = default_secret_store()
    assert store is not None and "SecretService" in store.description
    return default_secret_store


def test_returning_user_continues_with_no_signature_and_no_password(
    make_app: Any, tmp_path: Path, secret_service: Any
) -> None:
    path, address = make_keystore(tmp_path)
    data = tmp_path / "data"
    first = make_app(data, secrets_store=secret_service)
    first.unlock_keystore(path, PASSWORD)
    first.answer()
    first.answer()
    first.wait_idle()
    created = first.context.accounts.current.identity.bundle
    first.shutdown()

    # A restart on the same data directory: the Connect screen opens on "Continue as …".
    again = make_app(data, secrets_store=secret_service)
    passwords: list[Any] = []
    again.context.prompter.password_asked.connect(passwords.append)
    view = again.window.screens.connect
    assert again.window.stack.currentWidget() is view
    assert view.returning.isVisible()
    button = view.continue_buttons[0]
    assert button.text() == f"Continue as {address[:6]}…{address[-4:]} (keystore file)"
    again.click(button)
    again.wait_idle()
    assert again.ops.last_error is None
    assert again.prompts == [] and passwords == []
    account = again.context.accounts.current
    assert account is not None and account.address == address
    assert account.identity.bundle == created
    assert account.signer is None  # the wallet is connected only when a signature is needed
    kept = again.window.screens.identity.kept.text()
    assert kept.startswith("OS keyring (") and "SecretService" in kept
    assert "without a signature" in again.window.screens.identity.source.text()
    settings = again.window.screens.settings
    assert settings.remember.isEnabled() and settings.remember.isChecked()
    assert kept in settings.kept.text()

    # A rotation needs the wallet: the keystore password is asked then, and one signature.
    prekeys = again.window.screens.prekeys
    again.window.show_screen(prekeys)
    again.click(prekeys.rotate_button)
    again.qtbot.waitUntil(lambda: len(passwords) == 1, timeout=10_000)
    dialog = passwords[0]
    dialog.setTextValue(PASSWORD)
    dialog.accept()
    prompt = again.answer()
    again.wait_idle()
    assert prompt.title == "Protect and store your keys"
    assert again.ops.last_error is None
    assert len(again.context.accounts.current.identity.bundle.pre_keys) == 2
