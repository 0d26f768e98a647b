"""Identity screen: who you are on XMTP and how that is proven."""

from __future__ import annotations

from app.companion.qt import QFormLayout, QLabel, Qt, QVBoxLayout, QWidget
from app.companion.viewmodels.identity import IdentityViewModel
from app.companion.views.common import CopyField, heading, note, set_status, status_label


class IdentityView(QWidget):
    def __init__(self, vm: IdentityViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Your XMTP identity")))
        self.empty = note(self.tr("Connect a wallet to see its identity."), self.tr("No account"))
        layout.addWidget(self.empty)
        self.body = QWidget()
        form = QFormLayout(self.body)
        self.wallet = CopyField(self.tr("Wallet address"))
        self.identity_key = CopyField(self.tr("Identity public key"))
        self.attestation = status_label(self.tr("Attestation"))
        self.recovered = CopyField(self.tr("Address recovered from the attestation"))
        self.created = QLabel()
        self.created.setAccessibleName(self.tr("Created"))
        self.source = QLabel()
        self.source.setAccessibleName(self.tr("Where the keys came from"))
        self.node = QLabel()
        self.node.setAccessibleName(self.tr("Node"))
        self.node.setWordWrap(True)
        self.kept = QLabel()
        self.kept.setAccessibleName(self.tr("Where the private keys are kept"))
        self.kept.setWordWrap(True)
        form.addRow(self.tr("Wallet address"), self.wallet)
        self.fingerprint = QLabel()
        self.fingerprint.setAccessibleName(self.tr("Identity key fingerprint"))
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Identity key"), self.identity_key)
        form.addRow(self.tr("Fingerprint"), self.fingerprint)
        form.addRow(self.tr("Attestation"), self.attestation)
        form.addRow(self.tr("Signed by"), self.recovered)
        form.addRow(self.tr("Created"), self.created)
        form.addRow(self.tr("This session"), self.source)
        form.addRow(self.tr("Node"), self.node)
        form.addRow(self.tr("Private keys kept"), self.kept)
        layout.addWidget(self.body)
        layout.addStretch(1)
        vm.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        fields = self.vm.fields()
        self.empty.setVisible(fields is None)
        self.body.setVisible(fields is not None)
        if fields is None:
            return
        self.wallet.set_text(fields["wallet"])
        self.identity_key.set_text(fields["identity_key"])
        self.fingerprint.setText(fields["fingerprint"])
        set_status(self.attestation, fields["attestation"], fields["attestation_status"])
        self.recovered.set_text(fields["recovered"])
        self.created.setText(fields["created"])
        self.source.setText(fields["source"])
        self.node.setText(fields["node"])
        self.kept.setText(fields["kept"])
