"""Apps screen: serve, add an app (token shown once), its calls after bob-app ran, revoke.

bob-app is the real xmtp-js 13.0.4 ``Client`` with the companion as its only keystore, driven
from a worker thread so that the window's loop keeps serving it.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.companion.qt import Qt
from app.keyengine.bundles import PublicKeyBundle
from tests.gui.test_screens import connect
from tests.interop.jsdriver import DriverError, XmtpJs, driver_available


def post(url: str, method: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the companion's loopback URL
        f"{url}/keystore/v1/{method}", data=b"", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def js() -> Iterator[XmtpJs]:
    if not driver_available():
        pytest.fail("xmtp-js driver not installed: run `make node-deps`")
    with XmtpJs() as driver:
        yield driver


def test_apps_screen_adds_serves_and_revokes(
    make_app: Any, tmp_path: Path, js: XmtpJs, shared_node: str
) -> None:
    app = make_app()
    view = app.window.screens.apps
    app.window.activateWindow()
    app.qtbot.keyClick(app.window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert app.window.stack.currentWidget() is view  # the tenth screen: Ctrl+0
    address = connect(app, tmp_path)
    app.window.show_screen(view)

    app.click(view.serve_button)
    app.wait_idle()
    url = view.address.text()
    assert url.startswith("http://127.0.0.1:") and view.serve_button.text() == "Stop serving"

    view.app_name.setText("bob-app")
    app.click(view.add_button)
    app.wait_idle()
    token = view.token.text()
    assert token.startswith("xks_") and "shown only once" in view.token_note.text()
    assert token not in (app.context.data_dir / "keystore" / "apps.json").read_text()
    model = app.window.apps_vm.model
    assert model.rowCount() == 1 and model.app(0).name == "bob-app"

    def bob_app(cmd: str, **params: Any) -> Any:
        return app.run(asyncio.to_thread(js.call, cmd, client_name="bob-app", **params), timeout=60)

    created = bob_app("companion_client_create", keystore_url=url, token=token, api_url=shared_node)
    assert created["wallet_address"] == address
    assert bob_app("client_list_conversations")["conversations"] == []

    def seen(method: str) -> bool:
        usage = model.usage("bob-app")
        return usage is not None and usage.calls.get(method, 0) >= 1

    app.qtbot.waitUntil(
        lambda: seen("getPublicKeyBundle") and seen("getV2Conversations"), timeout=5000
    )
    assert int(model.data(model.index(0, 5))) >= 2
    entries = app.window.activity_vm.model
    assert any(entries.entry(i).kind == "keystore" for i in range(entries.rowCount()))

    # a rotation on the Pre-keys screen is served at once, without restarting anything
    app.window.show_screen(app.window.screens.prekeys)
    app.click(app.window.screens.prekeys.rotate_button)
    app.answer()
    app.wait_idle()
    assert app.ops.last_error is None
    rotated = app.context.accounts.current.identity.bundle.current_pre_key.public_key.point
    assert rotated.hex() != created["prekey"]
    status, served = app.run(asyncio.to_thread(post, url, "getPublicKeyBundle", token))
    assert status == 200 and PublicKeyBundle.from_bytes(served).pre_key.point == rotated
    app.window.show_screen(view)

    # an app allowed to export: each export stands out in Activity; bob-app may not export
    view.app_name.setText("backup-app")
    view.allow_export.setChecked(True)
    app.click(view.add_button)
    app.wait_idle()
    exporter = view.token.text()
    assert exporter != token and model.rowCount() == 2
    assert app.run(asyncio.to_thread(post, url, "getPrivateKeyBundle", exporter))[0] == 200
    assert app.run(asyncio.to_thread(post, url, "getPrivateKeyBundle", token))[0] == 403
    summaries = [entries.entry(i).summary for i in range(entries.rowCount())]
    assert "Key export by app backup-app" in summaries

    view.table.selectRow(next(r for r in range(model.rowCount()) if model.app(r).name == "bob-app"))
    app.click(view.revoke_button)
    app.wait_idle()
    row = next(r for r in range(model.rowCount()) if model.app(r).name == "bob-app")
    assert model.data(model.index(row, 1)) == "revoked"
    with pytest.raises(DriverError, match="revoked"):
        bob_app("client_list_conversations")
    app.click(view.serve_button)
    app.wait_idle()
    assert view.address.text() == "" and not app.context.keystore.running
