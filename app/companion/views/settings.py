"""Settings screen: node, WalletConnect, whether keys are remembered on this computer."""

from __future__ import annotations

from app.companion.qt import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.settings import SettingsViewModel
from app.companion.views.common import button, heading, line_edit, note, set_status, status_label


class SettingsView(QWidget):
    def __init__(self, vm: SettingsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Settings")))

        node = QGroupBox(self.tr("XMTP node"))
        form = QFormLayout(node)
        self.embedded = QRadioButton(self.tr("Embedded node on this computer"))
        self.embedded.setAccessibleName(self.tr("Use the embedded node"))
        self.remote = QRadioButton(self.tr("Node at a URL"))
        self.remote.setAccessibleName(self.tr("Use a node at a URL"))
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.remote)
        self.node_url = line_edit(self.tr("Node URL"), "http://127.0.0.1:5555")
        self.remote.toggled.connect(self.node_url.setEnabled)
        form.addRow(self.embedded)
        row = QHBoxLayout()
        row.addWidget(self.remote)
        row.addWidget(self.node_url, 1)
        form.addRow(row)
        status_row = QHBoxLayout()
        self.node_status = status_label(self.tr("Node status"))
        self.check_button = button(self.tr("Check now"), self.tr("Check the node"), self._check)
        status_row.addWidget(self.node_status, 1)
        status_row.addWidget(self.check_button)
        form.addRow(self.tr("Status"), status_row)
        layout.addWidget(node)

        wc = QGroupBox(self.tr("WalletConnect"))
        form = QFormLayout(wc)
        self.relay_url = line_edit(self.tr("Relay URL"))
        self.project_id = line_edit(self.tr("Project id"))
        form.addRow(self.tr("Relay URL"), self.relay_url)
        form.addRow(self.tr("Project id"), self.project_id)
        layout.addWidget(wc)

        keys = QGroupBox(self.tr("Keys on this computer"))
        form = QFormLayout(keys)
        self.remember = QCheckBox(self.tr("Remember my XMTP keys in the OS key store"))
        self.remember.setAccessibleName(self.tr("Remember keys"))
        self.kept = note("", self.tr("Where keys are kept"))
        form.addRow(self.remember)
        form.addRow(self.kept)
        self.auto_lock = QSpinBox()
        self.auto_lock.setAccessibleName(self.tr("Lock after idle minutes"))
        self.auto_lock.setRange(0, 24 * 60)
        self.auto_lock.setSuffix(self.tr(" min"))
        self.auto_lock.setSpecialValueText(self.tr("never"))
        self.auto_lock.setToolTip(
            self.tr("Drop the decrypted keys from memory after this long without use.")
        )
        form.addRow(self.tr("Lock when idle for"), self.auto_lock)
        form.addRow(
            note(
                self.tr(
                    "When off, nothing secret is written on this computer: your wallet unlocks "
                    "the keys from the node each time."
                ),
                self.tr("About remembering keys"),
            )
        )
        layout.addWidget(keys)

        row = QHBoxLayout()
        self.apply_button = button(self.tr("Apply"), self.tr("Apply settings"), self._apply)
        self.revert_button = button(self.tr("Revert"), self.tr("Revert settings"), self.load)
        row.addStretch(1)
        row.addWidget(self.revert_button)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        layout.addStretch(1)
        vm.context.operations.register_trigger(self.apply_button)
        vm.node_status.connect(self._on_status)
        vm.context.settings_changed.connect(self._sync_project_id)
        self.load()

    def load(self) -> None:
        url = self.vm.node_url
        self.embedded.setChecked(not url)
        self.remote.setChecked(bool(url))
        self.node_url.setText(url)
        self.node_url.setEnabled(bool(url))
        self.relay_url.setText(self.vm.relay_url)
        self.auto_lock.setValue(self.vm.auto_lock_minutes)
        self.project_id.setText(self.vm.project_id)
        problem = self.vm.keyring_problem
        self.remember.setEnabled(not problem)
        self.remember.setChecked(self.vm.remember_keys and not problem)
        self.remember.setToolTip(self.tr("Not available: {0}").format(problem) if problem else "")
        kept = self.tr("Private keys are kept: {0}").format(self.vm.keys_kept)
        if problem:
            kept += "\n" + self.tr("Remembering is not available: {0}.").format(problem)
        self.kept.setText(kept)

    def _sync_project_id(self) -> None:
        """The project id may also be entered on the WalletConnect tab."""
        self.project_id.setText(self.vm.project_id)

    def _on_status(self, state: str, text: str) -> None:
        status = {"online": "ok", "offline": "bad"}.get(state, "neutral")
        set_status(self.node_status, text, status)

    @async_slot()
    async def _check(self) -> None:
        await self.vm.check_node()

    @async_slot()
    async def _apply(self) -> None:
        await self.vm.apply(
            embedded=self.embedded.isChecked(),
            node_url=self.node_url.text(),
            relay_url=self.relay_url.text(),
            project_id=self.project_id.text(),
            remember=self.remember.isChecked(),
            auto_lock_minutes=self.auto_lock.value(),
        )
        self.load()
