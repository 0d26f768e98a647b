"""Invitations received by the current identity, each with the pre-key it was opened with."""

from __future__ import annotations

from typing import Any, Final

from app.companion.context import AppContext
from app.companion.qt import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from app.companion.viewmodels.table import HeaderedTableModel
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.flows import ReceivedInvite


def _format_ns(value: int) -> str:
    from app.companion.viewmodels.prekeys import format_ms

    return format_ms(value // 1_000_000)


class InvitesTableModel(HeaderedTableModel):
    COLUMNS: Final = 5

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[ReceivedInvite, ...] = ()
        self._current = b""
        self._headers = (
            self.tr("Received"),
            self.tr("From"),
            self.tr("Opened with pre-key"),
            self.tr("Pre-key"),
            self.tr("Conversation topic"),
        )

    def set_rows(self, rows: tuple[ReceivedInvite, ...], current_pre_key: bytes) -> None:
        self.beginResetModel()
        self._rows = tuple(sorted(rows, key=lambda r: r.created_ns, reverse=True))
        self._current = current_pre_key
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        invite = self._rows[index.row()]
        column = index.column()
        if column == 0:
            return _format_ns(invite.created_ns)
        if column == 1:
            return invite.peer_address + (self.tr(" (sent by you)") if invite.sent_by_us else "")
        if column == 2:
            return key_fingerprint(invite.pre_key)
        if column == 3:
            return self.tr("current") if invite.pre_key == self._current else self.tr("retired")
        return invite.topic


class InvitesViewModel(QObject):
    changed = Signal()

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = InvitesTableModel(self)
        self.problems: tuple[str, ...] = ()
        context.accounts.current_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        account = self.context.accounts.current
        if account is None or account.invites is None:
            self.model.set_rows((), b"")
            self.problems = ()
        else:
            current = account.identity.bundle.current_pre_key.public_key.point
            self.model.set_rows(account.invites.invites, current)
            self.problems = account.invites.errors
        self.changed.emit()

    @property
    def loaded(self) -> bool:
        account = self.context.accounts.current
        return account is not None and account.invites is not None

    async def load(self) -> bool:
        account = self.context.accounts.current
        if account is None:
            return False

        async def work() -> bool:
            report = await self.context.engine.flows.invites(account.identity.bundle)
            self.context.accounts.update_invites(account, report)
            return True

        return bool(await self.context.operations.run(self.tr("Reading invitations"), work))
