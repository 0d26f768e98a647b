"""The menu bar: Lock now, Quit (Ctrl+Q); Help (the README's user sections) and About."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from app.about import version
from app.companion.appinfo import DISPLAY_NAME
from app.companion.qt import (
    QAction,
    QDialog,
    QKeySequence,
    QMainWindow,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

HELP_SECTIONS = ("Using the desktop app", "Where keys live, and crash safety")
"""The README's sections for people using the app (not for developers)."""
LICENCE = "MIT"


def readme_path() -> Path:
    """README.md: in the source tree, or unpacked beside the code in the one-file binary."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "README.md"
    return Path(__file__).resolve().parents[3] / "README.md"


def help_markdown(readme: str) -> str:
    """The user sections of ``readme`` (``## Title`` blocks named in ``HELP_SECTIONS``)."""
    blocks = re.split(r"(?m)^(?=## )", readme)
    chosen = [b for b in blocks if any(b.startswith(f"## {title}") for title in HELP_SECTIONS)]
    return "\n".join(chosen) or "See the README that came with the app."


class Menus:
    """Builds the menu bar of ``window`` and keeps its actions (tests trigger them)."""

    def __init__(self, window: QMainWindow, data_dir: Path, lock: QAction) -> None:
        self.window = window
        self.data_dir = data_dir
        bar = window.menuBar()
        app_menu = bar.addMenu(window.tr("&App"))
        self.lock = lock
        lock.setShortcut(QKeySequence("Ctrl+L"))
        app_menu.addAction(lock)
        app_menu.addSeparator()
        self.quit = QAction(window.tr("&Quit"), window)
        self.quit.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        if self.quit.shortcut().isEmpty():
            self.quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit.triggered.connect(window.close)
        app_menu.addAction(self.quit)
        help_menu = bar.addMenu(window.tr("&Help"))
        self.help = QAction(window.tr("&Help"), window)
        self.help.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.help.triggered.connect(self.show_help)
        self.about = QAction(window.tr("&About {0}").format(DISPLAY_NAME), window)
        self.about.triggered.connect(self.show_about)
        help_menu.addAction(self.help)
        help_menu.addAction(self.about)
        self.dialog: QWidget | None = None

    def about_text(self) -> str:
        return self.window.tr(
            "{0} {1}\n\nLicence: {2}.\nData (settings, activity, the embedded node): {3}\n"
            "Private keys: in the OS keyring when one is available, never in plain files."
        ).format(DISPLAY_NAME, version(), LICENCE, self.data_dir)

    def show_about(self) -> None:
        box = QMessageBox(self.window)
        box.setWindowTitle(self.window.tr("About {0}").format(DISPLAY_NAME))
        box.setText(self.about_text())
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.open()
        self.dialog = box

    def show_help(self) -> None:
        try:
            text = help_markdown(readme_path().read_text(encoding="utf-8"))
        except OSError:
            text = "See the README that came with the app."
        dialog = QDialog(self.window)
        dialog.setWindowTitle(self.window.tr("Help"))
        layout = QVBoxLayout(dialog)
        browser = QTextBrowser()
        browser.setAccessibleName(self.window.tr("Help text"))
        browser.setMarkdown(text)
        layout.addWidget(browser)
        dialog.resize(720, 560)
        dialog.open()
        self.dialog = dialog
        self.help_browser = browser
