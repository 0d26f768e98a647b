"""Connect screen: a keystore file (or a new one), a JSON-RPC wallet, or WalletConnect."""

from __future__ import annotations

import functools
import os

from app.companion.qt import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.connect import ConnectViewModel
from app.companion.views.common import CopyField, button, heading, line_edit, note
from app.companion.views.files import choose_file
from app.companion.views.qr import QrCode
from app.walletconnect import PROJECT_ID_ENV

KEYSTORE_FILTER = "Keystore (*.json UTC--*);;All files (*)"


class ConnectView(QWidget):
    def __init__(self, vm: ConnectViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Connect your wallet")))
        self.returning = QGroupBox(self.tr("Welcome back"))
        self.returning.setAccessibleName(self.tr("Remembered accounts"))
        self.returning_layout = QVBoxLayout(self.returning)
        self.continue_buttons: list[QPushButton] = []
        layout.addWidget(self.returning)
        self.intro = note(
            self.tr(
                "XMTP keys are the private keys your messages are encrypted with; they belong "
                "to your wallet account but are separate from it. Your wallet signs twice: "
                "once to vouch for your new XMTP identity, and once to lock your keys so that "
                "only it can unlock them from the network. Every signature is shown to you "
                "first, with its exact text; choose below how to reach your wallet."
            ),
            self.tr("About connecting"),
        )
        layout.addWidget(self.intro)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(self.tr("Kind of wallet"))
        self.tabs.addTab(self._keystore_tab(), self.tr("Keystore file"))
        self.tabs.addTab(self._rpc_tab(), self.tr("JSON-RPC wallet"))
        self.tabs.addTab(self._walletconnect_tab(), self.tr("WalletConnect"))
        layout.addWidget(self.tabs, 1)
        ops = vm.context.operations
        ops.register_trigger(
            self.unlock_button, self.create_button, self.rpc_button, self.wc_button, needs_node=True
        )
        vm.pairing_uri.connect(self._show_uri)
        vm.countdown.connect(self._show_countdown)
        vm.wallet_status.connect(self.wc_status.setText)
        vm.context.settings_changed.connect(self.show_returning)
        vm.context.accounts.changed.connect(self.show_returning)
        vm.context.settings_changed.connect(self._show_project_state)
        self.show_returning()
        self._show_project_state()

    # -- returning ---------------------------------------------------------------------------

    def show_returning(self) -> None:
        """One "Continue as …" button per remembered account, the last one used first."""
        for old in self.continue_buttons:
            old.deleteLater()
        self.continue_buttons = []
        kinds = {
            "keystore": self.tr("keystore file"),
            "jsonrpc": self.tr("JSON-RPC wallet"),
            "walletconnect": self.tr("WalletConnect"),
            "rawkey": self.tr("raw key"),
        }
        connected = {a.address.lower() for a in self.vm.context.accounts.accounts}
        for saved in self.vm.saved_accounts():
            if saved.address.lower() in connected:
                continue
            short = f"{saved.address[:6]}…{saved.address[-4:]}"
            text = self.tr("Continue as {0} ({1})").format(short, kinds.get(saved.kind, saved.kind))
            widget = button(
                text,
                self.tr("Continue as {0}").format(saved.address),
                functools.partial(self._continue, saved.address),
            )
            widget.setToolTip(saved.address)
            self.returning_layout.addWidget(widget)
            self.continue_buttons.append(widget)
            self.vm.context.operations.register_trigger(widget)
        pairing = bool(self.qr_label.data)
        self.returning.setVisible(bool(self.continue_buttons) and not pairing)
        self.intro.setVisible(self._intro_wanted())

    def _intro_wanted(self) -> bool:
        """The first-start explanation: before any account was used, and not while pairing."""
        return not self.vm.context.settings.accounts and not self.qr_label.data

    @async_slot(str)
    async def _continue(self, address: str) -> None:
        await self.vm.continue_saved(address)

    # -- keystore ----------------------------------------------------------------------------

    def _keystore_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        existing = QGroupBox(self.tr("Use a keystore file"))
        form = QFormLayout(existing)
        self.keystore_path = line_edit(self.tr("Keystore file"), self.tr("Path to a UTC--… file"))
        browse = button(self.tr("Browse…"), self.tr("Browse for a keystore file"), self._browse)
        row = QHBoxLayout()
        row.addWidget(self.keystore_path, 1)
        row.addWidget(browse)
        form.addRow(self.tr("File"), row)
        self.keystore_password = line_edit(self.tr("Keystore password"))
        self.keystore_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.keystore_password.returnPressed.connect(self._unlock)
        form.addRow(self.tr("Password"), self.keystore_password)
        self.unlock_button = button(self.tr("Unlock"), self.tr("Unlock the keystore"), self._unlock)
        form.addRow("", self.unlock_button)
        layout.addWidget(existing)

        new = QGroupBox(self.tr("Or create a new keystore (a new wallet account)"))
        form = QFormLayout(new)
        self.new_path = line_edit(self.tr("New keystore file"), self.tr("Where to save it"))
        choose = button(self.tr("Choose…"), self.tr("Choose where to save"), self._choose_new)
        row = QHBoxLayout()
        row.addWidget(self.new_path, 1)
        row.addWidget(choose)
        form.addRow(self.tr("File"), row)
        self.new_password = line_edit(self.tr("New keystore password"))
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_repeat = line_edit(self.tr("Repeat the password"))
        self.new_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Password"), self.new_password)
        form.addRow(self.tr("Repeat"), self.new_repeat)
        self.create_button = button(
            self.tr("Create and connect"), self.tr("Create a keystore and connect"), self._create
        )
        form.addRow("", self.create_button)
        form.addRow(
            note(
                self.tr(
                    "The file holds a new account's key, encrypted with the password. Keep a "
                    "copy and the password: without both the account is lost."
                ),
                self.tr("About new keystores"),
            )
        )
        layout.addWidget(new)
        layout.addStretch(1)
        return tab

    def _browse(self) -> None:
        choose_file(
            self,
            self.tr("Choose a keystore file"),
            self.keystore_path.setText,
            name_filter=KEYSTORE_FILTER,
        )

    def _choose_new(self) -> None:
        choose_file(self, self.tr("Save the new keystore as"), self.new_path.setText, save=True)

    @async_slot()
    async def _unlock(self) -> None:
        password = self.keystore_password.text()
        self.keystore_password.clear()
        await self.vm.connect_keystore(self.keystore_path.text().strip(), password)

    @async_slot()
    async def _create(self) -> None:
        password, repeated = self.new_password.text(), self.new_repeat.text()
        self.new_password.clear()
        self.new_repeat.clear()
        await self.vm.create_keystore(self.new_path.text().strip(), password, repeated)

    def prefill(self, kind: str, location: str) -> None:
        """Show the remembered wallet's details (from the Accounts screen)."""
        if kind == "keystore":
            self.tabs.setCurrentIndex(0)
            self.keystore_path.setText(location)
            self.keystore_password.setFocus()
        elif kind == "jsonrpc":
            self.tabs.setCurrentIndex(1)
            self.rpc_url.setText(location)
            self.rpc_button.setFocus()
        elif kind == "walletconnect":
            self.tabs.setCurrentIndex(2)
            self.wc_button.setFocus()

    # -- JSON-RPC ----------------------------------------------------------------------------

    def _rpc_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        form.addRow(
            note(
                self.tr(
                    "A wallet on this computer that answers JSON-RPC (eth_accounts and "
                    "personal_sign), such as a local signer or a development node."
                ),
                self.tr("About JSON-RPC wallets"),
            )
        )
        self.rpc_url = line_edit(self.tr("Wallet URL"), "http://127.0.0.1:8545")
        form.addRow(self.tr("URL"), self.rpc_url)
        self.rpc_account = line_edit(self.tr("Account (optional)"), self.tr("default: the first"))
        form.addRow(self.tr("Account"), self.rpc_account)
        self.rpc_button = button(self.tr("Connect"), self.tr("Connect the wallet"), self._rpc)
        form.addRow("", self.rpc_button)
        return tab

    @async_slot()
    async def _rpc(self) -> None:
        await self.vm.connect_rpc(self.rpc_url.text(), self.rpc_account.text())

    # -- WalletConnect -----------------------------------------------------------------------

    def _walletconnect_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.wc_about = note(
            self.tr(
                "Scan the code with a mobile wallet (or paste the link into a desktop "
                "wallet). The code is renewed every five minutes until a wallet connects."
            ),
            self.tr("About WalletConnect"),
        )
        layout.addWidget(self.wc_about)
        project = QHBoxLayout()
        self.wc_project_note = note(
            self.tr(
                "WalletConnect's relay needs a project id, registered by whoever distributes "
                "this app (free at WalletConnect Cloud). Enter it here or in Settings; "
                "packagers set it with the environment variable {0}."
            ).format(PROJECT_ID_ENV),
            self.tr("About the WalletConnect project id"),
        )
        self.wc_project_id = line_edit(self.tr("WalletConnect project id"), self.tr("project id"))
        self.wc_project_id.setText(self.vm.context.settings.project_id)
        self.wc_project_id.editingFinished.connect(self._save_project_id)
        project.addWidget(self.wc_project_id, 1)
        layout.addWidget(self.wc_project_note)
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
        return tab

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
        """The project id note is shown before anything is pressed, while none is set."""
        missing = not (self.vm.context.settings.project_id or os.environ.get(PROJECT_ID_ENV))
        self.wc_project_note.setVisible(missing and not self.qr_label.data)
        self.wc_project_id.setVisible(missing and not self.qr_label.data)

    def _show_uri(self, uri: str) -> None:
        """While a code is shown, the explanations step aside so the code has the room."""
        pairing = bool(uri)
        self.wc_link.setVisible(pairing)
        self.wc_link.set_text(uri)
        self.qr_label.set_data(uri)
        self.wc_countdown.setVisible(pairing)
        self.wc_about.setVisible(not pairing)
        self.intro.setVisible(self._intro_wanted())
        if pairing:
            self.returning.setVisible(False)
        else:
            self.wc_countdown.clear()
            self.wc_status.clear()  # no leftover "Scan the code…" after cancelling
            self.show_returning()
        self._show_project_state()

    def _show_countdown(self, seconds: int) -> None:
        minutes, rest = divmod(seconds, 60)
        self.wc_countdown.setText(
            self.tr("This code expires in {0}:{1:02d}, then a new one is shown.").format(
                minutes, rest
            )
        )
