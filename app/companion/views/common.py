"""Small widget helpers: every control gets an accessible name; copyable and monospace fields."""

from __future__ import annotations

from collections.abc import Callable

from app.companion.qt import (
    QApplication,
    QFont,
    QFontDatabase,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTimer,
    QToolButton,
    QWidget,
)


def monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def button(text: str, name: str, slot: Callable[[], object] | None = None) -> QPushButton:
    widget = QPushButton(text)
    widget.setAccessibleName(name)
    if slot is not None:
        widget.clicked.connect(lambda _checked=False: slot())
    return widget


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    label.setAccessibleName(text)
    label.setWordWrap(True)
    return label


def note(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("note")
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def line_edit(name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def text_box(name: str) -> QPlainTextEdit:
    """A read-only monospace box for exact texts (signature texts, keys)."""
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setFont(monospace())
    box.setObjectName("exactText")
    box.setAccessibleName(name)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    return box


COPIED_MS = 1500
"""How long a Copy button says "Copied"."""


class CopyField(QWidget):
    """A read-only value with a Copy button (addresses, keys)."""

    def __init__(self, name: str, *, mono: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setReadOnly(True)
        self.edit.setAccessibleName(name)
        if mono:
            self.edit.setFont(monospace())
        self.copy_button = QToolButton()
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setAccessibleName(self.tr("Copy {0}").format(name))
        self.copy_button.clicked.connect(self.copy)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.copy_button)

    def set_text(self, text: str) -> None:
        self.edit.setText(text)
        self.edit.setCursorPosition(0)
        self.copy_button.setEnabled(bool(text))

    def text(self) -> str:
        return self.edit.text()

    def copy(self) -> None:
        """Copy, and say so on the button for a moment."""
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.edit.text())
            self.copy_button.setText(self.tr("Copied"))
            QTimer.singleShot(COPIED_MS, self, self._copy_again)

    def _copy_again(self) -> None:
        self.copy_button.setText(self.tr("Copy"))


def status_label(name: str) -> QLabel:
    """A label whose ``status`` property (ok / bad / neutral) the stylesheet colours."""
    label = QLabel()
    label.setObjectName("status")
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def set_status(label: QLabel, text: str, status: str) -> None:
    label.setText(text)
    label.setProperty("status", status)
    style = label.style()
    style.unpolish(label)
    style.polish(label)
