"""Lookup screen: anyone's published keys, each link of the attestation chain checked."""

from __future__ import annotations

from app.companion.qt import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
    async_slot,
)
from app.companion.viewmodels.lookup import LookupView as LookupResultView
from app.companion.viewmodels.lookup import LookupViewModel
from app.companion.views.common import (
    CopyField,
    button,
    heading,
    line_edit,
    note,
    set_status,
    status_label,
)


class LookupView(QWidget):
    def __init__(self, vm: LookupViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Look up an address")))
        layout.addWidget(
            note(
                self.tr(
                    "Enter any Ethereum address to see the XMTP keys it published and whether "
                    "they really belong to it."
                ),
                self.tr("About lookup"),
            )
        )
        row = QHBoxLayout()
        self.address = line_edit(self.tr("Address to look up"), "0x…")
        self.address.returnPressed.connect(self._lookup)
        self.lookup_button = button(self.tr("Look up"), self.tr("Look up"), self._lookup)
        row.addWidget(self.address, 1)
        row.addWidget(self.lookup_button)
        layout.addLayout(row)
        self.address_problem = status_label(self.tr("Problem with the address"))
        self.address.textEdited.connect(self._check_address)
        layout.addWidget(self.address_problem)
        self.summary = status_label(self.tr("Lookup result"))
        layout.addWidget(self.summary)
        form = QFormLayout()
        self.identity_key = CopyField(self.tr("Published identity key"))
        self.pre_key = CopyField(self.tr("Published pre-key"))
        self.fingerprint = QLabel()
        self.fingerprint.setAccessibleName(self.tr("Pre-key fingerprint"))
        self.version = QLabel()
        self.version.setAccessibleName(self.tr("Contact version"))
        self.identity_fingerprint = QLabel()
        self.identity_fingerprint.setAccessibleName(self.tr("Identity key fingerprint"))
        form.addRow(self.tr("Identity key"), self.identity_key)
        form.addRow(self.tr("Identity fingerprint"), self.identity_fingerprint)
        form.addRow(self.tr("Pre-key"), self.pre_key)
        form.addRow(self.tr("Pre-key fingerprint"), self.fingerprint)
        form.addRow(self.tr("Contact format"), self.version)
        layout.addLayout(form)
        layout.addWidget(QLabel(self.tr("Attestation chain:")))
        self.steps = QListWidget()
        self.steps.setAccessibleName(self.tr("Attestation chain checks"))
        layout.addWidget(self.steps, 1)
        vm.context.operations.register_trigger(self.lookup_button, needs_node=True)
        vm.result_changed.connect(self.show_result)

    @async_slot()
    async def _lookup(self) -> None:
        if self._check_address() == "bad":
            return  # said next to the field; nothing is sent
        await self.vm.lookup(self.address.text())

    def _check_address(self, _text: str = "") -> str:
        message, status = self.vm.address_problem(self.address.text())
        set_status(self.address_problem, message, status)
        return status

    def show_result(self, view: LookupResultView | None) -> None:
        self.steps.clear()
        if view is None:
            set_status(self.summary, "", "neutral")
            for field in (self.identity_key, self.pre_key):
                field.set_text("")
            self.fingerprint.clear()
            self.identity_fingerprint.clear()
            self.version.clear()
            return
        set_status(self.summary, view.summary, "ok" if view.valid else "bad")
        self.identity_key.set_text(view.identity_key)
        self.pre_key.set_text(view.pre_key)
        self.fingerprint.setText(view.pre_key_fingerprint)
        self.identity_fingerprint.setText(view.identity_fingerprint)
        self.version.setText(view.version)
        for step in view.steps:
            mark = "✔" if step.ok else "✘"
            item = QListWidgetItem(f"{mark} {step.title} — {step.detail}")
            item.setData(0x0100, step.ok)
            self.steps.addItem(item)
        for problem in view.problems:
            if not any(problem == step.detail for step in view.steps):
                self.steps.addItem(QListWidgetItem(f"• {problem}"))
