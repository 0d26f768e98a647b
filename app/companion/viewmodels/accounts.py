"""Accounts side by side: the connected ones (switch instantly) and the remembered ones."""

from __future__ import annotations

from dataclasses import dataclass

from app.companion.context import AppContext
from app.companion.qt import QObject, Signal
from app.companion.walletconnect import forget_session


@dataclass(frozen=True, slots=True)
class AccountRow:
    address: str
    kind: str
    location: str
    connected: bool
    current: bool
    pre_keys: int
    label: str = ""


class AccountsViewModel(QObject):
    changed = Signal()
    reconnect_requested = Signal(str, str, str)
    """(kind, location, address): the Connect screen should prefill this wallet."""
    add_requested = Signal()
    """"Add account": show the Connect screen."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        context.accounts.changed.connect(self.changed)
        context.accounts.current_changed.connect(self.changed)
        context.settings_changed.connect(self.changed)

    def rows(self) -> list[AccountRow]:
        service = self.context.accounts
        current = service.current
        rows = [
            AccountRow(
                account.address,
                account.saved.kind,
                account.saved.location,
                True,
                account is current,
                len(account.identity.bundle.pre_keys),
                account.saved.label,
            )
            for account in service.accounts
        ]
        connected = {row.address.lower() for row in rows}
        rows += [
            AccountRow(saved.address, saved.kind, saved.location, False, False, 0, saved.label)
            for saved in reversed(self.context.settings.accounts)
            if saved.address.lower() not in connected
        ]
        return rows

    def label_of(self, address: str) -> str:
        for saved in self.context.settings.accounts:
            if saved.address.lower() == address.lower():
                return saved.label
        return ""

    def set_label(self, address: str, label: str) -> None:
        """A name the person gives an account (kept in the settings, never a secret)."""
        for saved in self.context.settings.accounts:
            if saved.address.lower() == address.lower():
                saved.label = label.strip()[:60]
        self.context.save_settings()

    def switch(self, address: str) -> None:
        self.context.accounts.switch(address)

    def reconnect(self, address: str) -> None:
        for saved in self.context.settings.accounts:
            if saved.address.lower() == address.lower():
                self.reconnect_requested.emit(saved.kind, saved.location, saved.address)
                return

    async def forget_account(self, address: str) -> None:
        """Close the wallet connection and forget the remembered account (keys are kept)."""
        account = self.context.accounts.remove(address)
        if account is not None and account.signer is not None:
            await account.signer.aclose()
        await forget_session(self.context.engine.secret_store, address)
        self.context.settings.forget(address)
        self.context.save_settings()
        self.changed.emit()
