"""Apps screen: serve the keystore on/off, add an app (token shown once), its use, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from app.companion.context import AppContext
from app.companion.qt import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from app.companion.viewmodels.table import HeaderedTableModel
from app.keyengine.keystore_service import AppRecord, AppUsage


def _when(stamp: float | None) -> str:
    return "" if stamp is None else datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


class AppsTableModel(HeaderedTableModel):
    COLUMNS: Final = 6

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[AppRecord, AppUsage]] = []
        self._headers = (
            self.tr("App"),
            self.tr("State"),
            self.tr("Key export"),
            self.tr("Created"),
            self.tr("Last use"),
            self.tr("Calls"),
        )

    def set_rows(self, rows: list[tuple[AppRecord, AppUsage]]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def app(self, row: int) -> AppRecord:
        return self._rows[row][0]

    def usage(self, name: str) -> AppUsage | None:
        return next((usage for app, usage in self._rows if app.name == name), None)

    def _row_count(self) -> int:
        return len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        app, usage = self._rows[index.row()]
        column = index.column()
        calls = ", ".join(f"{method} {count}" for method, count in sorted(usage.calls.items()))
        if role == Qt.ItemDataRole.ToolTipRole and column == 5:
            return calls
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return app.name
        if column == 1:
            return self.tr("revoked") if app.revoked is not None else self.tr("allowed")
        if column == 2:
            return self.tr("allowed") if app.allow_export else self.tr("no")
        if column == 3:
            return _when(app.created)
        if column == 4:
            return _when(usage.last_used)
        return str(sum(usage.calls.values()))


class AppsViewModel(QObject):
    token_created = Signal(str, str)
    """App name and its new token (shown once)."""
    serving_changed = Signal(bool, str)
    """Serving or not, and the address."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.service = context.keystore
        self.model = AppsTableModel(self)
        self.service.state_changed.connect(self._serving)
        self.service.called.connect(lambda _app, _method: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        registry = self.service.registry
        rows = [(app, registry.usage.get(app.name, AppUsage())) for app in registry.apps]
        self.model.set_rows(rows)

    def _serving(self) -> None:
        self.serving_changed.emit(self.service.running, self.service.url)

    async def set_serving(self, on: bool, port: int = 0) -> bool:
        async def work() -> bool:
            if on:
                await self.service.start(port)
            else:
                await self.service.stop()
            return True

        label = self.tr("Starting the keystore") if on else self.tr("Stopping the keystore")
        return bool(await self.context.operations.run(label, work))

    async def add_app(self, name: str, allow_export: bool) -> str:
        async def work() -> str:
            return self.service.registry.allow(name.strip(), allow_export=allow_export)

        token = await self.context.operations.run(self.tr("Adding the app"), work)
        self.refresh()
        if token:
            self.token_created.emit(name.strip(), str(token))
            return str(token)
        return ""

    async def revoke(self, name: str) -> bool:
        async def work() -> bool:
            self.service.registry.revoke(name)
            return True

        ok = bool(await self.context.operations.run(self.tr("Revoking the app"), work))
        self.refresh()
        return ok
