"""Every signature requested, every publish and every warning, newest first, from the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from app.companion.activity import SHOWN_KINDS, ActivityEntry
from app.companion.context import AppContext
from app.companion.qt import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from app.companion.viewmodels.table import HeaderedTableModel


class ActivityTableModel(HeaderedTableModel):
    COLUMNS: Final = 5

    def __init__(self, entries: list[ActivityEntry], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries = [e for e in reversed(entries) if e.kind in SHOWN_KINDS]
        self._headers = (
            self.tr("Time"),
            self.tr("What"),
            self.tr("Result"),
            self.tr("Account"),
            self.tr("Details"),
        )

    def prepend(self, entry: ActivityEntry) -> None:
        if entry.kind not in SHOWN_KINDS:
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._entries.insert(0, entry)
        self.endInsertRows()

    def entry(self, row: int) -> ActivityEntry:
        return self._entries[row]

    def _row_count(self) -> int:
        return len(self._entries)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            return entry.text
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return datetime.fromtimestamp(entry.time).strftime("%Y-%m-%d %H:%M:%S")
        if column == 1:
            if entry.kind == "warning":
                return self.tr("Warning: {0}").format(entry.summary)
            if entry.kind == "keystore":
                return self.tr("App: {0}").format(entry.summary)
            return entry.summary
        if column == 2:
            return entry.result
        if column == 3:
            return entry.address
        return entry.text.replace("\n", " ⏎ ")


class ActivityViewModel(QObject):
    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = ActivityTableModel(context.activity.load(), self)
        context.activity.subscribe(self.model.prepend)

    @property
    def path(self) -> str:
        return str(self.context.activity.path)
