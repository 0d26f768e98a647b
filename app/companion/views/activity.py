"""Activity screen: every signature asked for and every publish, kept on this computer."""

from __future__ import annotations

from app.companion.qt import QVBoxLayout, QWidget
from app.companion.viewmodels.activity import ActivityViewModel
from app.companion.views.common import heading, note
from app.companion.views.prekeys import make_table


class ActivityView(QWidget):
    def __init__(self, vm: ActivityViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Activity")))
        layout.addWidget(
            note(
                self.tr(
                    "Kept in {0} (no keys or signatures, only what was asked and when)."
                ).format(vm.path),
                self.tr("About the activity log"),
            )
        )
        self.table = make_table(self.tr("Activity log"))
        self.table.setModel(vm.model)
        self.table.setColumnWidth(0, 160)
        self.table.setColumnWidth(1, 260)
        self.table.setColumnWidth(2, 90)
        self.table.setColumnWidth(3, 330)
        layout.addWidget(self.table, 1)
