"""Pre-keys screen: the current public pre-key, the private history, rotation."""

from __future__ import annotations

from app.companion.qt import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.prekeys import REVEAL_SECONDS, PreKeysViewModel
from app.companion.views.common import CopyField, button, heading, note, set_status, status_label


def make_table(name: str) -> QTableView:
    """A table for large models: uniform fixed row heights, no per-row widgets."""
    table = QTableView()
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vertical = table.verticalHeader()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)
    vertical.setVisible(False)
    vertical.setAccessibleName(table.tr("{0}: rows").format(name))
    horizontal = table.horizontalHeader()
    horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    horizontal.setStretchLastSection(True)
    horizontal.setAccessibleName(table.tr("{0}: columns").format(name))
    return table


HEADER_MARGIN = 28
"""Room beside a header's text (padding, sort indicator)."""


def set_column_widths(table: QTableView, widths: tuple[int, ...]) -> None:
    """Column widths, each at least what its header text needs, so headers are never cut."""
    header = table.horizontalHeader()
    model = table.model()
    metrics = header.fontMetrics()
    for column, width in enumerate(widths):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        table.setColumnWidth(column, max(width, metrics.horizontalAdvance(title) + HEADER_MARGIN))


class PreKeysView(QWidget):
    def __init__(self, vm: PreKeysViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.confirm_box: QMessageBox | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Pre-keys")))
        layout.addWidget(
            note(
                self.tr(
                    "Others seal invitations to your current pre-key. Rotating makes a new one; "
                    "every old private pre-key is kept so old invitations still open."
                ),
                self.tr("About pre-keys"),
            )
        )
        form = QFormLayout()
        self.current_key = CopyField(self.tr("Current public pre-key"))
        self.fingerprint = QLabel()
        self.fingerprint.setAccessibleName(self.tr("Fingerprint"))
        self.created = QLabel()
        self.created.setAccessibleName(self.tr("Created"))
        self.signature = status_label(self.tr("Identity signature"))
        form.addRow(self.tr("Current pre-key"), self.current_key)
        form.addRow(self.tr("Fingerprint"), self.fingerprint)
        form.addRow(self.tr("Created"), self.created)
        form.addRow(self.tr("Signature"), self.signature)
        self.pending = status_label(self.tr("Publication"))
        form.addRow(self.tr("On the node"), self.pending)
        layout.addLayout(form)
        actions = QHBoxLayout()
        self.rotate_button = button(
            self.tr("Rotate pre-key"), self.tr("Rotate pre-key"), self._rotate
        )
        self.reveal_button = button(
            self.tr("Show private key…"), self.tr("Show the selected private key"), self._ask_reveal
        )
        actions.addWidget(self.rotate_button)
        actions.addStretch(1)
        actions.addWidget(self.reveal_button)
        layout.addLayout(actions)
        self.table = make_table(self.tr("Private pre-key history"))
        self.table.setModel(vm.model)
        set_column_widths(self.table, (170, 300, 90))
        layout.addWidget(self.table, 1)
        self.secret = CopyField(self.tr("Private key"))
        self.secret.setVisible(False)
        self.secret_note = note("", self.tr("Private key notice"))
        self.secret_note.setVisible(False)
        layout.addWidget(self.secret_note)
        layout.addWidget(self.secret)
        vm.context.operations.register_trigger(
            self.rotate_button, needs_node=True, needs_account=True
        )
        vm.changed.connect(self.refresh)
        vm.revealed_changed.connect(self._show_secret)
        self.refresh()

    def refresh(self) -> None:
        current = self.vm.current()
        has = current is not None
        self.rotate_button.setEnabled(self.vm.context.operations.can_start(self.rotate_button))
        self.reveal_button.setEnabled(has)
        if current is None:
            self.current_key.set_text("")
            self.fingerprint.setText(self.tr("Connect a wallet to see its pre-keys."))
            self.created.clear()
            set_status(self.signature, "", "neutral")
            set_status(self.pending, "", "neutral")
            return
        self.current_key.set_text(current["public_key"])
        self.fingerprint.setText(current["fingerprint"])
        self.created.setText(current["created"])
        set_status(self.signature, current["signature"], current["signature_status"])
        pending = self.vm.pending()
        set_status(self.pending, pending or self.tr("published"), "bad" if pending else "ok")

    @async_slot()
    async def _rotate(self) -> None:
        await self.vm.rotate()

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else 0

    def _ask_reveal(self) -> None:
        row = self.selected_row()
        if row >= self.vm.model.rowCount():
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Show a private key?"))
        box.setText(
            self.tr(
                "Anyone who sees this private pre-key can read invitations sealed to it. "
                "Show it for {0} seconds?"
            ).format(REVEAL_SECONDS)
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAccessibleName(self.tr("Confirm showing a private key"))

        def answered(_result: int) -> None:
            self.confirm_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                self.vm.reveal_private_key(row)
            box.deleteLater()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    def _show_secret(self, secret: str) -> None:
        self.secret.set_text(secret)
        self.secret.setVisible(bool(secret))
        self.secret_note.setVisible(bool(secret))
        if secret:
            self.secret_note.setText(
                self.tr("Private key of row {0}; hidden again in {1} seconds.").format(
                    self.vm.revealed_row + 1, REVEAL_SECONDS
                )
            )
