"""The progress panel and the error presenter bound to ``Operations``."""

from __future__ import annotations

from app.companion.errors import Explanation
from app.companion.operation import Operations
from app.companion.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QObject,
    QProgressBar,
    QWidget,
)
from app.companion.views.common import button


class ProgressPanel(QFrame):
    """Shown while an operation runs: what is happening, a busy bar, and Cancel."""

    def __init__(self, operations: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressPanel")
        self.operations = operations
        layout = QHBoxLayout(self)
        self.label = QLabel()
        self.label.setAccessibleName(self.tr("Progress"))
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(180)
        self.bar.setAccessibleName(self.tr("Working"))
        self.cancel_button = button(
            self.tr("Cancel"), self.tr("Cancel the current task"), operations.cancel
        )
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        operations.started.connect(self._started)
        operations.progress.connect(self._progress)
        operations.finished.connect(self.hide)
        self.hide()

    def _started(self, label: str) -> None:
        self.label.setText(label + "…")
        self.show()

    def _progress(self, message: str) -> None:
        self.label.setText(f"{self.operations.label}: {message}")


class ErrorPresenter(QObject):
    """Failures as a message box with a way forward; quiet outcomes only in the status line."""

    def __init__(self, parent: QWidget, show_status: QLabel) -> None:
        super().__init__(parent)
        self.window = parent
        self.status = show_status
        self.current: QMessageBox | None = None

    def present(self, explanation: Explanation) -> None:
        line = explanation.message
        if explanation.hint:
            line += " " + explanation.hint
        self.status.setText(line)
        if explanation.quiet:
            return
        if self.current is not None:
            self.current.close()
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(explanation.title)
        box.setAccessibleName(explanation.title)
        box.setText(explanation.message)
        box.setInformativeText(explanation.hint)
        if explanation.detail:
            box.setDetailedText(explanation.detail)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.finished.connect(lambda _r: self._closed(box))
        self.current = box
        box.open()

    def _closed(self, box: QMessageBox) -> None:
        if self.current is box:
            self.current = None
        box.deleteLater()
