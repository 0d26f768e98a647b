"""The 100,000-row pre-key history, WalletConnect through its factory seam, and the entry point."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.companion.viewmodels.prekeys import PreKeyRow, PreKeyTableModel
from app.companion.views.prekeys import make_table
from app.companion.walletconnect import WalletConnectOptions
from app.keyengine.wallets import RawKeySigner
from app.walletconnect.events import PairingUriReady
from tests.support.paths import REPO_ROOT

ROWS = 100_000


class CountingSource:
    """A synthetic history whose rows are made (and counted) only when asked for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.made: set[int] = set()

    def __len__(self) -> int:
        return self.size

    def row(self, index: int) -> PreKeyRow:
        self.made.add(index)
        point = b"\x04" + index.to_bytes(32, "big") + bytes(32)
        return PreKeyRow(1_700_000_000_000 - index, point, index == 0, index % 3)

    def secret_hex(self, index: int) -> str:
        return f"{index:064x}"


def test_hundred_thousand_prekeys_load_lazily_and_scroll(qtbot: Any) -> None:
    model = PreKeyTableModel()
    source = CountingSource(ROWS)
    model.set_source(source)
    assert model.rowCount() == ROWS
    assert source.made == set()  # nothing computed up front

    table = make_table("history")
    table.setModel(model)
    table.resize(800, 400)
    qtbot.addWidget(table)
    table.show()
    qtbot.waitExposed(table)
    assert table.verticalHeader().sectionResizeMode(0).name == "Fixed"
    for target in (ROWS // 2, ROWS - 1, 0, ROWS - 1):
        table.scrollTo(model.index(target, 0))
        qtbot.waitUntil(lambda row=target: row in source.made, timeout=5000)  # painted
    table.verticalScrollBar().setValue(table.verticalScrollBar().maximum())
    top = table.rowAt(0)
    qtbot.waitUntil(lambda: top in source.made, timeout=5000)
    # Only (about) the rows that were on screen were ever computed.
    assert ROWS - 1 in source.made
    assert 0 < len(source.made) < 500
    assert model.index(ROWS - 1, 2).data() == "retired"
    assert model.index(0, 2).data() == "current"
    assert model.index(ROWS - 1, 3).data() == str((ROWS - 1) % 3)


def test_walletconnect_through_the_factory_seam(make_app: Any) -> None:
    """A fake factory stands in for WalletConnect (the official-SDK test plugs in here)."""
    wallet = RawKeySigner(os.urandom(32))
    calls: list[WalletConnectOptions] = []
    # The remote wallet acts when the test says so: it scans the code once the test has seen
    # it, and answers the first request once the test has seen the prompt.
    scanned = asyncio.Event()
    answering = asyncio.Event()

    class RemoteWallet:
        address = wallet.address

        async def sign_personal(self, text: str) -> bytes:
            await answering.wait()
            return await wallet.sign_personal(text)

    async def factory(options: WalletConnectOptions) -> Any:
        calls.append(options)
        uri = "wc:" + "ab" * 32 + "@2?relay-protocol=irn&symKey=" + "cd" * 32
        options.on_event(PairingUriReady(uri=uri, expires_at=int(time.time()) + 300))
        await scanned.wait()
        return RemoteWallet()

    app = make_app(walletconnect=factory)
    view = app.window.screens.connect
    view.tabs.setCurrentIndex(2)
    seen_uris: list[str] = []
    app.window.connect_vm.pairing_uri.connect(seen_uris.append)
    app.click(view.wc_button)
    app.qtbot.waitUntil(lambda: bool(seen_uris) and seen_uris[0] != "", timeout=5000)
    assert view.qr_label.data.startswith("wc:") and view.qr_label.module_px() >= 3
    assert view.wc_link.text().startswith("wc:")
    assert "expires in 4:5" in view.wc_countdown.text() or "5:00" in view.wc_countdown.text()
    scanned.set()
    # Remote wallets: the prompt shows the text and waits; nothing to approve in the app.
    app.qtbot.waitUntil(lambda: app.context.prompter.current is not None, timeout=5000)
    dialog = app.context.prompter.current
    assert not hasattr(dialog, "approve_button")
    assert "Approve in your wallet" in " ".join(
        w.text() for w in dialog.findChildren(type(view.wc_countdown))
    )
    answering.set()
    app.wait_idle()
    assert app.ops.last_error is None
    assert app.context.accounts.current.address == wallet.address
    assert app.context.accounts.current.signer.kind.value == "walletconnect"
    assert calls[0].relay_url == app.context.settings.relay_url
    assert view.wc_link.text() == ""  # the code is cleared once connected


def test_missing_display_is_explained(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    done = subprocess.run(
        [sys.executable, "-m", "app.companion.main", "--data-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert "xmtp-keys" in done.stderr
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr


def test_version_and_help() -> None:
    for option, expected in (("--version", "xmtp-companion 0"), ("--help", "--data-dir DIR")):
        done = subprocess.run(
            [sys.executable, "-m", "app.companion.main", option],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0
        assert expected in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "app.companion.main", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "--node URL" in done.stdout


def test_remember_keys_off_keeps_nothing_secret(make_app: Any, tmp_path: Path) -> None:
    from tests.support.keystores import make_keystore

    app = make_app(secrets_store=None)
    assert not app.context.engine.vault.remembers_keys
    settings = app.window.screens.settings
    assert "nowhere on this machine" in settings.kept.text()
    path, address = make_keystore(tmp_path)
    app.unlock_keystore(path, "correct horse")
    app.answer()
    app.answer()
    app.wait_idle()
    assert app.context.accounts.current.address == address
    settings.remember.setChecked(False)
    app.click(settings.apply_button)
    app.wait_idle()
    assert app.context.settings.remember_keys is False
    assert app.context.node.state.value == "online"
    assert settings.node_status.property("status") == "ok"
