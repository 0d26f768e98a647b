"""Activity screen: every signature asked for and every publish, kept on this computer."""

from __future__ import annotations

from app.companion.qt import QVBoxLayout, QWidget
from app.companion.viewmodels.activity import ActivityViewModel
from app.companion.views.common import heading, note
from app.companion.views.prekeys import make_table, set_column_widths


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
        set_column_widths(self.table, (140, 200, 90, 300))
        layout.addWidget(self.table, 1)
