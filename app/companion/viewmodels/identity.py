"""The current account's identity: wallet, identity key, attestation, creation time, node."""

from __future__ import annotations

from app.companion.context import AppContext
from app.companion.qt import QObject, Signal
from app.companion.viewmodels.prekeys import format_ms
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.verdicts import check_attestation


class IdentityViewModel(QObject):
    changed = Signal()

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        context.accounts.current_changed.connect(self.changed)
        context.node.state_changed.connect(self._on_node)

    def _on_node(self, _state: str, _url: str) -> None:
        self.changed.emit()

    def fields(self) -> dict[str, str] | None:
        account = self.context.accounts.current
        if account is None:
            return None
        bundle = account.identity.bundle
        identity_key = bundle.identity_key.public_key
        wallet = account.address
        verdict = check_attestation(identity_key, wallet)
        if verdict.recovered is None:
            status = self.tr("NOT verified: {0}").format(verdict.check.detail)
        elif verdict.ok:
            status = self.tr("Verified: the identity key is signed by this wallet")
        else:
            status = self.tr("NOT verified: the key is signed by another wallet")
        node = self.context.node
        where = self.tr("embedded node on this computer") if node.embedded else node.url
        sources = {
            "generated": self.tr("created in this session"),
            "remembered": self.tr("opened from {0}, without a signature").format(
                self.context.engine.keys_kept
            ),
        }
        source = sources.get(account.identity.source, self.tr("unlocked from the node"))
        return {
            "wallet": wallet,
            "identity_key": identity_key.point.hex(),
            "fingerprint": key_fingerprint(identity_key.point),
            "recovered": verdict.recovered or "",
            "attestation": status,
            "attestation_status": "ok" if verdict.ok else "bad",
            "created": format_ms(identity_key.timestamp_ms),
            "node": f"{node.url} ({where})" if node.embedded else node.url,
            "source": source,
            "kept": self.context.engine.keys_kept,
            "signer": account.saved.kind,
            "wallet_connected": "yes" if account.signer is not None else "no",
        }
