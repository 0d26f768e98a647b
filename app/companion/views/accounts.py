"""Accounts screen: every wallet side by side; switch, reconnect, disconnect."""

from __future__ import annotations

import asyncio

from app.companion.qt import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.companion.viewmodels.accounts import AccountRow, AccountsViewModel
from app.companion.views.common import button, heading, line_edit, note

ADDRESS_ROLE = Qt.ItemDataRole.UserRole


class AccountsView(QWidget):
    def __init__(self, vm: AccountsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Accounts")))
        layout.addWidget(
            note(
                self.tr(
                    "Connect several wallets and switch between them. Disconnecting forgets the "
                    "remembered wallet; your keys stay on the node and in the key store."
                ),
                self.tr("About accounts"),
            )
        )
        self.list = QListWidget()
        self.list.setAccessibleName(self.tr("Accounts"))
        self.list.itemActivated.connect(lambda _item: self._use())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.confirm_box: QMessageBox | None = None
        self.forgetting: asyncio.Future[None] | None = None
        self.use_button = button(self.tr("Show this account"), self.tr("Switch account"), self._use)
        self.add_button = button(
            self.tr("Add account…"), self.tr("Add another account"), self.vm.add_requested.emit
        )
        self.label_field = line_edit(self.tr("Label of the account"), self.tr("a label, e.g. work"))
        self.label_field.returnPressed.connect(self._label)
        self.label_button = button(self.tr("Set label"), self.tr("Set the label"), self._label)
        self.disconnect_button = button(
            self.tr("Disconnect and forget"), self.tr("Disconnect account"), self._disconnect
        )
        row.addWidget(self.use_button)
        row.addWidget(self.disconnect_button)
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(self.label_field)
        row.addWidget(self.label_button)
        layout.addLayout(row)
        vm.changed.connect(self.refresh)
        self.refresh()

    def _row_text(self, row: AccountRow) -> str:
        kinds = {
            "keystore": self.tr("keystore"),
            "jsonrpc": self.tr("JSON-RPC wallet"),
            "walletconnect": self.tr("WalletConnect"),
            "rawkey": self.tr("raw key"),
        }
        kind = kinds.get(row.kind, row.kind)
        where = f" · {row.location}" if row.location else ""
        if row.connected:
            state = self.tr("connected, {0} pre-key(s)").format(row.pre_keys)
            if row.current:
                state += self.tr(" · shown now")
        else:
            state = self.tr("remembered, not connected")
        label = f"{row.label} · " if row.label else ""
        return f"{label}{row.address}\n{kind}{where} — {state}"

    def refresh(self) -> None:
        selected = self.selected_address()
        self.list.clear()
        for row in self.vm.rows():
            item = QListWidgetItem(self._row_text(row))
            item.setData(ADDRESS_ROLE, row.address)
            item.setData(ADDRESS_ROLE + 1, row.connected)
            if row.current:  # the active account stands out, whatever is selected
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if row.address == selected or (not selected and row.current):
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected_address(self) -> str:
        item = self.list.currentItem()
        return str(item.data(ADDRESS_ROLE)) if item is not None else ""

    def _update_buttons(self) -> None:
        item = self.list.currentItem()
        self.use_button.setEnabled(item is not None)
        self.disconnect_button.setEnabled(item is not None)
        self.label_button.setEnabled(item is not None)
        self.label_field.setText(self.vm.label_of(self.selected_address()))
        if item is not None and not item.data(ADDRESS_ROLE + 1):
            self.use_button.setText(self.tr("Connect again…"))
        else:
            self.use_button.setText(self.tr("Show this account"))

    def _use(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        address = str(item.data(ADDRESS_ROLE))
        if item.data(ADDRESS_ROLE + 1):
            self.vm.switch(address)
        else:
            self.vm.reconnect(address)

    def _disconnect(self) -> None:
        """Ask first, saying what is removed and what stays; forget only on Yes."""
        address = self.selected_address()
        if not address:
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Disconnect and forget this account?"))
        box.setAccessibleName(self.tr("Confirm forgetting an account"))
        box.setText(self.tr("Disconnect and forget {0}?").format(address))
        box.setInformativeText(
            self.tr(
                "Removed from this computer: the remembered account, its keys in the OS "
                "keyring and its WalletConnect session.\n"
                "Kept: your XMTP keys on the network (your wallet unlocks them again) and "
                "the wallet itself (keystore file, JSON-RPC or mobile wallet)."
            )
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_result: int) -> None:
            self.confirm_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                self.forgetting = asyncio.ensure_future(self.vm.forget_account(address))
            box.deleteLater()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    def _label(self) -> None:
        address = self.selected_address()
        if address:
            self.vm.set_label(address, self.label_field.text())
