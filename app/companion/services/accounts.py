"""The wallets connected in this run, side by side, and which one the screens show."""

from __future__ import annotations

from dataclasses import dataclass

from app.companion.qt import QObject, Signal
from app.companion.settings import SavedAccount
from app.companion.signing import PromptingSigner
from app.keyengine.flows import Identity, InviteReport


@dataclass
class Account:
    signer: PromptingSigner | None
    """The connected wallet; ``None`` while the keys came from the keyring and no signature
    was needed yet (the wallet is connected when one is)."""
    identity: Identity
    saved: SavedAccount
    invites: InviteReport | None = None

    @property
    def address(self) -> str:
        return self.identity.wallet_address


class AccountsService(QObject):
    changed = Signal()
    """An account was added, removed or updated."""
    current_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._accounts: dict[str, Account] = {}
        self._current: str = ""

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    @property
    def current(self) -> Account | None:
        return self._accounts.get(self._current)

    def get(self, address: str) -> Account | None:
        return self._accounts.get(address.lower())

    def add(self, account: Account) -> None:
        """Add (or replace) an account and show it."""
        self._accounts[account.address.lower()] = account
        self.changed.emit()
        self.switch(account.address)

    def update_identity(self, account: Account, identity: Identity) -> None:
        account.identity = identity
        self.changed.emit()
        if self.current is account:
            self.current_changed.emit()

    def update_invites(self, account: Account, report: InviteReport) -> None:
        account.invites = report
        if self.current is account:
            self.current_changed.emit()

    def switch(self, address: str) -> None:
        if address.lower() not in self._accounts:
            return
        self._current = address.lower()
        self.current_changed.emit()

    def clear(self) -> list[Account]:
        """Drop every account (locking): the decrypted keys leave memory with them."""
        dropped = list(self._accounts.values())
        self._accounts.clear()
        self._current = ""
        self.current_changed.emit()
        self.changed.emit()
        return dropped

    def remove(self, address: str) -> Account | None:
        account = self._accounts.pop(address.lower(), None)
        if account is None:
            return None
        if self._current == address.lower():
            self._current = next(iter(self._accounts), "")
            self.current_changed.emit()
        self.changed.emit()
        return account
