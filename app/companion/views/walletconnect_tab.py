"""The WalletConnect tab of the Connect screen: project id, the code, its link and countdown."""

from __future__ import annotations

import os

from app.companion.qt import QHBoxLayout, QLabel, QVBoxLayout, QWidget, Signal, async_slot
from app.companion.viewmodels.connect import ConnectViewModel
from app.companion.views.common import CopyField, button, line_edit, note
from app.companion.views.qr import QrCode
from app.walletconnect import PROJECT_ID_ENV


class WalletConnectTab(QWidget):
    pairing_changed = Signal(bool)
    """A code is shown (True) or gone (False): the screen around it gives it the room."""

    def __init__(self, vm: ConnectViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        self.wc_about = note(
            self.tr(
                "Scan the code with a mobile wallet (or paste the link into a desktop "
                "wallet). The code is renewed every five minutes until a wallet connects."
            ),
            self.tr("About WalletConnect"),
        )
        layout.addWidget(self.wc_about)
        self.wc_project_note = note(
            self.tr(
                "WalletConnect's relay needs a project id, registered by whoever distributes "
                "this app (free at WalletConnect Cloud). Enter it here or in Settings; "
                "packagers set it with the environment variable {0}."
            ).format(PROJECT_ID_ENV),
            self.tr("About the WalletConnect project id"),
        )
        layout.addWidget(self.wc_project_note)
        project = QHBoxLayout()
        self.wc_project_label = QLabel(self.tr("Project id"))
        self.wc_project_id = line_edit(self.tr("WalletConnect project id"), self.tr("project id"))
        self.wc_project_id.setText(self.vm.context.settings.project_id)
        self.wc_project_id.editingFinished.connect(self._save_project_id)
        project.addWidget(self.wc_project_label)
        project.addWidget(self.wc_project_id, 1)
        layout.addLayout(project)
        row = QHBoxLayout()
        self.wc_button = button(
            self.tr("Show a connection code"), self.tr("Start WalletConnect"), self._walletconnect
        )
        row.addWidget(self.wc_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.qr_label = QrCode()
        self.qr_label.setAccessibleName(self.tr("Connection QR code"))
        layout.addWidget(self.qr_label, 1)
        self.wc_link = CopyField(self.tr("Connection link"))
        layout.addWidget(self.wc_link)
        self.wc_countdown = QLabel()
        self.wc_countdown.setAccessibleName(self.tr("Time left"))
        layout.addWidget(self.wc_countdown)
        self.wc_status = QLabel()
        self.wc_status.setAccessibleName(self.tr("WalletConnect status"))
        self.wc_status.setWordWrap(True)
        layout.addWidget(self.wc_status)
        self.wc_link.setVisible(False)
        self.wc_countdown.setVisible(False)
        vm.pairing_uri.connect(self._show_uri)
        vm.countdown.connect(self._show_countdown)
        vm.wallet_status.connect(self.wc_status.setText)
        vm.context.settings_changed.connect(self._show_project_state)
        self._show_project_state()

    @async_slot()
    async def _walletconnect(self) -> None:
        await self.vm.connect_walletconnect()

    def _save_project_id(self) -> None:
        value = self.wc_project_id.text().strip()
        settings = self.vm.context.settings
        if value != settings.project_id:
            settings.project_id = value
            self.vm.context.save_settings()
        self._show_project_state()

    def _show_project_state(self) -> None:
        """Before anything is pressed: the project id field, and why it is needed while none
        is set (here, in Settings or in the environment)."""
        if self.wc_project_id.text().strip() != self.vm.context.settings.project_id:
            self.wc_project_id.setText(self.vm.context.settings.project_id)
        pairing = bool(self.qr_label.data)
        missing = not (self.vm.context.settings.project_id or os.environ.get(PROJECT_ID_ENV))
        self.wc_project_note.setVisible(missing and not pairing)
        self.wc_project_id.setVisible(not pairing)
        self.wc_project_label.setVisible(not pairing)

    def _show_uri(self, uri: str) -> None:
        """While a code is shown, the explanations step aside so the code has the room."""
        pairing = bool(uri)
        self.wc_link.setVisible(pairing)
        self.wc_link.set_text(uri)
        self.qr_label.set_data(uri)
        self.wc_countdown.setVisible(pairing)
        self.wc_about.setVisible(not pairing)
        if not pairing:
            self.wc_countdown.clear()
            self.wc_status.clear()  # no leftover "Scan the code…" after cancelling
        self._show_project_state()
        self.pairing_changed.emit(pairing)

    def _show_countdown(self, seconds: int) -> None:
        minutes, rest = divmod(seconds, 60)
        self.wc_countdown.setText(
            self.tr("This code expires in {0}:{1:02d}, then a new one is shown.").format(
                minutes, rest
            )
        )
