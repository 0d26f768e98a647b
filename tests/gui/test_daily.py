"""Daily use: lock and auto-lock, one app per data directory, confirmation before forgetting,
the menu bar (About, Help, Quit), labels and the first start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.companion.qt import QKeySequence, QMessageBox, Qt
from app.companion.single_instance import SingleInstance
from tests.support.keystores import PASSWORD, make_keystore


def _connect(app: Any, tmp_path: Path) -> str:
    path, address = make_keystore(tmp_path)
    app.unlock_keystore(path, PASSWORD)
    app.answer()
    app.answer()
    app.wait_idle()
    return address


def test_lock_now_and_auto_lock_drop_the_keys_and_continue_reopens(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app()
    intro = app.window.screens.connect.intro
    assert intro.isVisible()  # the first start explains what XMTP keys and signatures are
    assert "XMTP keys are" in intro.text() and "signs twice" in intro.text()
    address = _connect(app, tmp_path)
    assert not intro.isVisible()
    assert app.window.lock_button.isEnabled()
    app.window.lock_action.trigger()
    app.qtbot.waitUntil(lambda: app.context.accounts.current is None, timeout=5000)
    assert app.window.stack.currentWidget() is app.window.screens.connect
    assert app.window.message.text() == "Locked."
    assert not app.window.lock_button.isEnabled()

    # Unlocking is the same one-click Continue: no prompt.
    view = app.window.screens.connect
    app.qtbot.waitUntil(lambda: bool(view.continue_buttons), timeout=5000)
    app.click(view.continue_buttons[0])
    app.wait_idle()
    assert app.context.accounts.current.address == address
    assert len(app.prompts) == 2

    # Auto-lock: off by default; on, it locks after the idle time, and input postpones it.
    lock = app.window.auto_lock
    assert app.context.settings.auto_lock_minutes == 0 and not lock.timer.isActive()
    app.context.settings.auto_lock_minutes = 1
    app.context.save_settings()
    assert lock.timer.isActive() and lock.timer.interval() == 60_000
    lock.timer.setInterval(300)
    lock.timer.start()
    app.qtbot.wait(150)
    app.qtbot.keyClick(app.window.screens.lookup.address, Qt.Key.Key_A)
    assert lock.timer.remainingTime() > 200  # a key press restarted the idle time
    app.qtbot.waitUntil(lambda: app.context.accounts.current is None, timeout=5000)
    assert "Locked after 1 minute(s)" in app.window.message.text()


def test_a_second_launch_on_the_same_data_directory_shows_the_first(
    qtbot: Any, tmp_path: Path
) -> None:
    first, second, other = (SingleInstance(tmp_path / name) for name in ("data", "data", "x"))
    assert not first.forward_to_running()  # nobody runs yet
    assert first.listen()
    with qtbot.waitSignal(first.activated, timeout=5000):
        assert second.forward_to_running()
    assert not other.forward_to_running()
    first.close()
    assert not second.forward_to_running()


def test_second_launch_brings_the_window_to_the_front(make_app: Any) -> None:
    app = make_app()
    app.window.showMinimized()
    app.window.bring_to_front()
    assert not app.window.isMinimized() and app.window.isVisible()


def test_forgetting_asks_first_and_says_what_stays(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    address = _connect(app, tmp_path)
    accounts = app.window.screens.accounts
    app.window.show_screen(accounts)
    accounts.list.setCurrentRow(0)
    assert accounts.list.item(0).font().bold()  # the active account stands out

    accounts.label_field.setText("work")
    app.qtbot.mouseClick(accounts.label_button, Qt.MouseButton.LeftButton)
    assert accounts.list.item(0).text().startswith("work · ")
    assert [a.label for a in app.context.settings.accounts] == ["work"]

    app.qtbot.mouseClick(accounts.disconnect_button, Qt.MouseButton.LeftButton)
    box = accounts.confirm_box
    assert box is not None
    assert "Kept: your XMTP keys on the network" in box.informativeText()
    assert "keystore file" in box.informativeText()
    app.qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert app.context.accounts.current.address == address  # nothing forgotten
    assert len(app.context.settings.accounts) == 1

    app.qtbot.mouseClick(accounts.disconnect_button, Qt.MouseButton.LeftButton)
    box = accounts.confirm_box
    app.qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    app.qtbot.waitUntil(lambda: not app.context.settings.accounts, timeout=5000)
    assert app.context.accounts.current is None

    app.qtbot.mouseClick(accounts.add_button, Qt.MouseButton.LeftButton)
    assert app.window.stack.currentWidget() is app.window.screens.connect


def test_menu_bar_about_help_and_quit(make_app: Any) -> None:
    app = make_app()
    menus = app.window.menus
    assert menus.quit.shortcut() == QKeySequence("Ctrl+Q")
    about = menus.about_text()
    assert "Licence: MIT" in about and str(app.context.data_dir) in about
    menus.show_help()
    text = menus.help_browser.toPlainText()
    assert "Using the desktop app" in text and "Lock now" in text
    assert "Command line" not in text  # only the sections for people using the app
    menus.dialog.close()
    menus.quit.trigger()
    assert not app.window.isVisible()


def test_a_second_xmtp_companion_process_hands_over_and_exits(tmp_path: Path) -> None:
    """Two real processes on one data directory: the second one exits at once (0) while the
    first keeps running (its window is brought to the front, see the test above)."""
    import os
    import subprocess
    import sys
    import time

    from app.companion.qt import QLocalSocket
    from app.companion.single_instance import server_name
    from tests.support.paths import REPO_ROOT

    data = tmp_path / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "app.companion.main", "--data-dir", str(data)]
    first = subprocess.Popen(command, cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait until the first app listens on its data directory's socket
            probe = QLocalSocket()
            probe.connectToServer(server_name(data))
            if probe.waitForConnected(200):
                probe.abort()
                break
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        second = subprocess.run(command, cwd=REPO_ROOT, env=env, timeout=30, check=False)
        assert second.returncode == 0
        assert first.poll() is None  # the first app is still the one running
    finally:
        first.terminate()
        first.wait(timeout=30)
