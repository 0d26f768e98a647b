"""Invitations screen: who invited you, and which of your pre-keys opened it."""

from __future__ import annotations

from app.companion.qt import QHBoxLayout, QVBoxLayout, QWidget, async_slot
from app.companion.viewmodels.invites import InvitesViewModel
from app.companion.views.common import button, heading, note
from app.companion.views.prekeys import make_table, set_column_widths


class InvitesView(QWidget):
    def __init__(self, vm: InvitesViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Invitations")))
        layout.addWidget(
            note(
                self.tr(
                    "Each invitation to a conversation is sealed to one of your pre-keys; this "
                    "shows which one opened it (current or retired)."
                ),
                self.tr("About invitations"),
            )
        )
        row = QHBoxLayout()
        self.load_button = button(
            self.tr("Read invitations"), self.tr("Read invitations"), self._load
        )
        row.addWidget(self.load_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = note("", self.tr("Invitations status"))
        layout.addWidget(self.status)
        self.table = make_table(self.tr("Invitations received"))
        self.table.setModel(vm.model)
        set_column_widths(self.table, (150, 320, 150))
        layout.addWidget(self.table, 1)
        vm.context.operations.register_trigger(
            self.load_button, needs_node=True, needs_account=True
        )
        vm.changed.connect(self.refresh)
        self.refresh()

    @async_slot()
    async def _load(self) -> None:
        await self.vm.load()

    def refresh(self) -> None:
        if self.vm.context.accounts.current is None:
            self.status.setText(self.tr("Connect a wallet to read its invitations."))
        elif not self.vm.loaded:
            self.status.setText(self.tr("Not read yet."))
        else:
            text = self.tr("{0} invitation(s).").format(self.vm.model.rowCount())
            if self.vm.problems:
                text += " " + self.tr("{0} could not be opened.").format(len(self.vm.problems))
            self.status.setText(text)
