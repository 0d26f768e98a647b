"""Apps screen: the keystore other XMTP apps use while this app is unlocked."""

from __future__ import annotations

from app.companion.qt import (
    QCheckBox,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.apps import AppsViewModel
from app.companion.views.common import CopyField, button, heading, line_edit, note
from app.companion.views.prekeys import make_table


class AppsView(QWidget):
    def __init__(self, vm: AppsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Apps")))
        layout.addWidget(
            note(
                self.tr(
                    "XMTP apps on this computer can message with your keys through this app: "
                    "they ask it to sign, encrypt and decrypt, and your private keys never "
                    "leave it. Each app needs its own token; revoke it to cut the app off. "
                    "Only this computer can connect (127.0.0.1), and web pages cannot."
                ),
                self.tr("What the Apps screen does"),
            )
        )
        serve_row = QHBoxLayout()
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText(self.tr("any free port"))
        self.port.setAccessibleName(self.tr("Keystore port"))
        self.serve_button = button(
            self.tr("Serve apps"), self.tr("Serve apps"), self.toggle_serving
        )
        self.address = CopyField(self.tr("Keystore address"))
        serve_row.addWidget(self.port)
        serve_row.addWidget(self.serve_button)
        serve_row.addWidget(self.address, 1)
        layout.addLayout(serve_row)

        add_row = QHBoxLayout()
        self.app_name = line_edit(self.tr("New app name"), self.tr("App name, e.g. my-chat"))
        self.allow_export = QCheckBox(self.tr("May export my keys"))
        self.allow_export.setAccessibleName(self.tr("May export my keys"))
        self.add_button = button(self.tr("Add app"), self.tr("Add app"), self.add_app)
        add_row.addWidget(self.app_name, 1)
        add_row.addWidget(self.allow_export)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)
        self.token_note = note("", self.tr("New token"))
        self.token = CopyField(self.tr("App token"))
        self.token.set_text("")
        layout.addWidget(self.token_note)
        layout.addWidget(self.token)

        self.table = make_table(self.tr("Apps"))
        self.table.setModel(vm.model)
        layout.addWidget(self.table, 1)
        self.revoke_button = button(
            self.tr("Revoke"), self.tr("Revoke the selected app"), self.revoke_selected
        )
        layout.addWidget(self.revoke_button)
        vm.context.operations.register_trigger(
            self.serve_button, self.add_button, self.revoke_button
        )
        vm.token_created.connect(self._show_token)
        vm.serving_changed.connect(self._show_serving)
        self._show_serving(vm.service.running, vm.service.url)

    def _show_serving(self, running: bool, url: str) -> None:
        self.serve_button.setText(self.tr("Stop serving") if running else self.tr("Serve apps"))
        self.address.set_text(url)
        self.port.setEnabled(not running)

    def _show_token(self, name: str, token: str) -> None:
        self.token_note.setText(
            self.tr("Token of {0}: copy it into the app now, it is shown only once.").format(name)
        )
        self.token.set_text(token)

    @async_slot()
    async def toggle_serving(self) -> None:
        await self.vm.set_serving(not self.vm.service.running, self.port.value())

    @async_slot()
    async def add_app(self) -> None:
        self.token.set_text("")
        self.token_note.setText("")
        if await self.vm.add_app(self.app_name.text(), self.allow_export.isChecked()):
            self.app_name.clear()

    @async_slot()
    async def revoke_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            await self.vm.revoke(self.vm.model.app(rows[0].row()).name)
