"""The current pre-key, the private pre-key history (a lazy table model) and rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from app.companion.context import AppContext
from app.companion.qt import (
    QFontDatabase,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from app.companion.viewmodels.table import HeaderedTableModel
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.flows import InviteReport
from app.keyengine.network import NodeUnreachable
from app.keyengine.remembered import continue_remembered
from app.keyengine.verdicts import check_pre_key

PENDING_TEXT: Final = "Pending: the new pre-key will be published when the node is back."
REVEAL_SECONDS: Final = 30
"""A revealed private key is hidden again after this long."""


def format_ms(timestamp_ms: int) -> str:
    return (
        datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
        .astimezone()
        .strftime("%Y-%m-%d %H:%M:%S")
    )


@dataclass(frozen=True, slots=True)
class PreKeyRow:
    created_ms: int
    public_key: bytes
    current: bool
    invitations: int


class PreKeySource(Protocol):
    """Rows of the pre-key history, newest first, each computed only when asked for."""

    def __len__(self) -> int: ...

    def row(self, index: int) -> PreKeyRow: ...

    def secret_hex(self, index: int) -> str: ...


class EmptyPreKeys:
    def __len__(self) -> int:
        return 0

    def row(self, index: int) -> PreKeyRow:
        raise IndexError(index)

    def secret_hex(self, index: int) -> str:
        raise IndexError(index)


class BundlePreKeys:
    """The pre-keys of a private bundle (current first) with their invitation counts."""

    def __init__(self, bundle: PrivateKeyBundleV1, invites: InviteReport | None = None) -> None:
        self._keys = bundle.pre_keys
        self._counts: dict[bytes, int] = {}
        for invite in invites.invites if invites is not None else ():
            self._counts[invite.pre_key] = self._counts.get(invite.pre_key, 0) + 1

    def __len__(self) -> int:
        return len(self._keys)

    def row(self, index: int) -> PreKeyRow:
        key = self._keys[index]
        point = key.public_key.point
        return PreKeyRow(key.public_key.timestamp_ms, point, index == 0, self._counts.get(point, 0))

    def secret_hex(self, index: int) -> str:
        return self._keys[index].secret.hex()


class PreKeyTableModel(HeaderedTableModel):
    """Created · public key · current/retired · invitations opened with it.

    Nothing is precomputed: ``data`` asks the source for the one row the view paints, so a
    history of 100,000 keys costs what the visible rows cost.
    """

    COLUMNS: Final = 4

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: PreKeySource = EmptyPreKeys()
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._headers = (
            self.tr("Created"),
            self.tr("Public key"),
            self.tr("Status"),
            self.tr("Invitations"),
        )

    def set_source(self, source: PreKeySource) -> None:
        self.beginResetModel()
        self._source = source
        self.endResetModel()

    @property
    def source(self) -> PreKeySource:
        return self._source

    def _row_count(self) -> int:
        return len(self._source)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._mono if index.column() == 1 else None
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return None
        row = self._source.row(index.row())
        column = index.column()
        if column == 0:
            return format_ms(row.created_ms)
        if column == 1:
            full = row.public_key.hex()
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{full[:18]}…{full[-10:]}"
            return full
        if column == 2:
            return self.tr("current") if row.current else self.tr("retired")
        return str(row.invitations)


class PreKeysViewModel(QObject):
    changed = Signal()
    revealed_changed = Signal(str)
    """The private key shown right now (hex), or "" once hidden."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = PreKeyTableModel(self)
        self.revealed = ""
        self.revealed_row = -1
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(REVEAL_SECONDS * 1000)
        self._hide_timer.timeout.connect(self.hide_private_key)
        context.accounts.current_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.hide_private_key()
        account = self.context.accounts.current
        if account is None:
            self.model.set_source(EmptyPreKeys())
        else:
            self.model.set_source(BundlePreKeys(account.identity.bundle, account.invites))
        self.changed.emit()

    def pending(self) -> str:
        """What is signed but not yet on the node, in the words the screen shows ("" if none)."""
        account = self.context.accounts.current
        if account is None or not self.context.pending.is_pending(account.address):
            return ""
        return self.tr(PENDING_TEXT)

    def current(self) -> dict[str, str] | None:
        """The current public pre-key: hex, fingerprint, creation time, signature check."""
        account = self.context.accounts.current
        if account is None:
            return None
        bundle = account.identity.bundle
        public = bundle.current_pre_key.public_key
        check = check_pre_key(bundle.identity_key.public_key.point, public)
        if check.ok:
            verified = self.tr("verified: signed by your identity key")
        else:
            verified = self.tr("NOT verified: {0}").format(check.detail)
        return {
            "public_key": public.point.hex(),
            "fingerprint": key_fingerprint(public.point),
            "created": format_ms(public.timestamp_ms),
            "signature": verified,
            "signature_status": "ok" if check.ok else "bad",
            "count": str(len(bundle.pre_keys)),
        }

    async def rotate(self) -> bool:
        account = self.context.accounts.current
        if account is None:
            return False

        async def work() -> bool:
            # The flow first finishes a rotation that is saved locally but not yet on the node,
            # so the new pre-key is built on top of it (none is ever dropped).
            signer = await self.context.wallet_for(account)
            flows = self.context.engine.flows
            try:
                rotated = await flows.rotate_prekey(signer, account.identity)
            except NodeUnreachable:
                # Signed and kept (keyring and journal), not published: show it as pending;
                # the app publishes it when the node answers again.
                kept = await continue_remembered(flows, account.address)
                if kept is None:
                    raise
                self.context.accounts.update_identity(account, kept)
                self.context.operations.notice.emit(self.tr(PENDING_TEXT))
                return True
            self.context.accounts.update_identity(account, rotated)
            return True

        return bool(await self.context.operations.run(self.tr("Rotating your pre-key"), work))

    def reveal_private_key(self, row: int) -> str:
        """Show one private pre-key (the view asked for confirmation first); hidden on a timer."""
        self.revealed = self.model.source.secret_hex(row)
        self.revealed_row = row
        self._hide_timer.start()
        self.revealed_changed.emit(self.revealed)
        return self.revealed

    def hide_private_key(self) -> None:
        self._hide_timer.stop()
        if self.revealed:
            self.revealed = ""
            self.revealed_row = -1
            self.revealed_changed.emit("")
