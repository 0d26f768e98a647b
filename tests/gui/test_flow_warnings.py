"""Every event a flow emits reaches the person; warnings in the status bar and the activity log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.keyengine.network import Envelope, TokenSource
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.topics import private_store_topic
from tests.support.keystores import PASSWORD, make_keystore


def _warnings_logged(app: Any) -> list[str]:
    return [e.summary for e in app.context.activity.load() if e.kind == "warning"]


def test_local_pre_keys_the_network_lacks_are_shown_and_stored_again(
    make_app: Any, tmp_path: Path
) -> None:
    path, _ = make_keystore(tmp_path)
    app = make_app()
    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    account = app.context.accounts.current
    assert not app.window.warning.isVisible()
    # A rotation saved in the keyring whose storing never happened (a crash in between).
    rotated = rotate_pre_key(account.identity.bundle)
    app.context.engine.vault.save_bundle(rotated)
    progress: list[str] = []
    app.ops.progress.connect(progress.append)

    app.unlock_keystore(path, PASSWORD)
    app.answer()  # unlock the network copy
    app.answer()  # store the merged bundle again
    app.wait_idle()

    assert app.ops.last_error is None
    message = "this machine holds pre-keys the network copy lacks; storing them again"
    assert app.window.warning.isVisible()
    assert app.window.warning.text() == f"Warning: {message}"
    assert _warnings_logged(app) == [message]
    model = app.window.activity_vm.model
    shown = [model.index(row, 1).data() for row in range(model.rowCount())]
    assert f"Warning: {message}" in shown
    assert app.window.prekeys_vm.model.rowCount() == 2
    assert app.context.accounts.current.identity.bundle == rotated
    # The other events went to the progress panel: each step and each wait for the wallet.
    assert progress.count("waiting for your wallet: Unlock your keys") == 1
    assert progress.count("waiting for your wallet: Protect and store your keys") == 1
    assert "looking for stored keys on the network" in progress
    assert "signature received" in progress

    # The next operation starts with a clean status bar; the log keeps the warning.
    app.click(app.window.screens.prekeys.rotate_button)
    app.answer()
    app.wait_idle()
    assert not app.window.warning.isVisible()
    assert _warnings_logged(app) == [message]


def test_an_unreadable_stored_bundle_is_shown_as_skipped(make_app: Any, tmp_path: Path) -> None:
    path, address = make_keystore(tmp_path)
    first = make_app()
    first.unlock_keystore(path, PASSWORD)
    first.answer()
    first.answer()
    first.wait_idle()
    bundle = first.context.accounts.current.identity.bundle
    client = first.context.engine.client
    garbage = Envelope(private_store_topic(address), time.time_ns() + 10**9, b"\x01not a bundle")
    first.run(client.publish([garbage], TokenSource(bundle)))

    other = make_app(secrets_store=None)  # another machine: nothing remembered locally
    other.unlock_keystore(path, PASSWORD)
    other.answer()
    other.wait_idle()
    assert other.ops.last_error is None
    assert other.context.accounts.current.identity.bundle == bundle
    assert "skipping an unreadable stored bundle" in other.window.warning.text()
    assert _warnings_logged(other) == ["skipping an unreadable stored bundle"]
