"""Connect screen: a keystore file (or a new one), a JSON-RPC wallet, or WalletConnect."""

from __future__ import annotations

import functools

from app.companion.qt import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.connect import ConnectViewModel
from app.companion.views.common import (
    button,
    heading,
    line_edit,
    note,
    set_status,
    status_label,
)
from app.companion.views.files import choose_file
from app.companion.views.walletconnect_tab import WalletConnectTab

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
        self.walletconnect = WalletConnectTab(vm)
        self.wc_button = self.walletconnect.wc_button
        self.qr_label = self.walletconnect.qr_label
        self.wc_link = self.walletconnect.wc_link
        self.wc_countdown = self.walletconnect.wc_countdown
        self.wc_status = self.walletconnect.wc_status
        self.tabs.addTab(self.walletconnect, self.tr("WalletConnect"))
        layout.addWidget(self.tabs, 1)
        ops = vm.context.operations
        ops.register_trigger(
            self.unlock_button, self.create_button, self.rpc_button, self.wc_button, needs_node=True
        )
        self.walletconnect.pairing_changed.connect(self._pairing_changed)
        vm.context.settings_changed.connect(self.show_returning)
        vm.context.accounts.changed.connect(self.show_returning)
        self.show_returning()

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

    def _pairing_changed(self, _pairing: bool) -> None:
        self.show_returning()

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
        self.new_password.textEdited.connect(self._password_edited)
        self.new_repeat = line_edit(self.tr("Repeat the password"))
        self.new_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_repeat.textEdited.connect(self._password_edited)
        self.show_password = QCheckBox(self.tr("Show password"))
        self.show_password.setAccessibleName(self.tr("Show the new password"))
        self.show_password.toggled.connect(self._toggle_echo)
        self.new_strength = status_label(self.tr("Password strength"))
        self.new_problem = status_label(self.tr("Problem with the new keystore"))
        form.addRow(self.tr("Password"), self.new_password)
        form.addRow("", self.new_strength)
        form.addRow(self.tr("Repeat"), self.new_repeat)
        form.addRow("", self.show_password)
        form.addRow("", self.new_problem)
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

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.new_password.setEchoMode(mode)
        self.new_repeat.setEchoMode(mode)

    def _password_edited(self, _text: str = "") -> None:
        text, acceptable = self.vm.password_feedback(self.new_password.text())
        set_status(self.new_strength, text, "ok" if acceptable else "bad" if text else "neutral")
        set_status(self.new_problem, "", "neutral")

    @async_slot()
    async def _create(self) -> None:
        """Problems are said next to the fields, which keep what was typed."""
        path = self.new_path.text().strip()
        password, repeated = self.new_password.text(), self.new_repeat.text()
        problem = self.vm.new_password_problem(path, password, repeated)
        set_status(self.new_problem, problem, "bad" if problem else "neutral")
        if problem:
            return
        if await self.vm.create_keystore(path, password, repeated) is not None:
            self.new_password.clear()
            self.new_repeat.clear()
            set_status(self.new_strength, "", "neutral")

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
