"""Backup screen: export the encrypted key bundle, or restore one."""

from __future__ import annotations

from app.companion.qt import QHBoxLayout, QVBoxLayout, QWidget, async_slot
from app.companion.viewmodels.backup import BackupViewModel
from app.companion.views.common import button, heading, note
from app.companion.views.files import choose_file


class BackupView(QWidget):
    def __init__(self, vm: BackupViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Backup")))
        layout.addWidget(
            note(
                self.tr(
                    "<b>What the file is:</b> your XMTP private keys (identity key and every "
                    "pre-key), encrypted so that only a signature of your wallet opens them — "
                    "the same bundle that is stored on the node.<br><br>"
                    "<b>What it is not:</b> it is not your wallet. It does not hold your wallet "
                    "key or any password, it cannot move funds, and without your wallet it "
                    "cannot be opened. Lose your wallet and this file is useless; lose this "
                    "file and your wallet can still unlock the copy on the node.<br><br>"
                    "Restoring puts the keys back on this computer and on the node (your wallet "
                    "signs twice: to open the file, then to store the keys again); pre-keys "
                    "already here are kept."
                ),
                self.tr("What a backup is"),
            )
        )
        row = QHBoxLayout()
        self.export_button = button(
            self.tr("Export to a file…"), self.tr("Export the encrypted keys"), self._choose_export
        )
        self.restore_button = button(
            self.tr("Restore from a file…"), self.tr("Restore a backup"), self._choose_restore
        )
        row.addWidget(self.export_button)
        row.addWidget(self.restore_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.result = note("", self.tr("Backup result"))
        layout.addWidget(self.result)
        layout.addStretch(1)
        ops = vm.context.operations
        ops.register_trigger(self.export_button, needs_account=True)
        ops.register_trigger(self.restore_button, needs_node=True, needs_account=True)
        vm.done.connect(self.result.setText)

    def _choose_export(self) -> None:
        choose_file(self, self.tr("Export the encrypted keys to"), self.export_to, save=True)

    def _choose_restore(self) -> None:
        choose_file(self, self.tr("Restore keys from"), self.restore_from)

    @async_slot(str)
    async def export_to(self, path: str) -> None:
        await self.vm.export(path)

    @async_slot(str)
    async def restore_from(self, path: str) -> None:
        await self.vm.restore(path)
