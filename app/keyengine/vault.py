"""The keyring vault: private key bundles kept in the OS secret store, one entry per wallet.

The **private key bundle** goes only to a secret store: the OS keyring (Secret Service, macOS
Keychain, Windows Credential Locker) through ``keyring``.  Where none exists (a headless
server), nothing secret is remembered at all; ``Vault.where`` says so for the user.  An entry
that is there but does not decode is reported as damaged (``DamagedKeyringEntry``), never taken
for a missing one.  What a flow still has to publish lives beside it, in the journal
(``app.keyengine.journal``), which ``Vault.journal`` opens on the same data directory.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any, Final, Protocol

from app.about import APP_NAME
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import KeyEngineError
from app.keyengine.invite_log import InviteLogStore
from app.keyengine.journal import JournalStore

SERVICE_NAME: Final = APP_NAME


class SecretStore(Protocol):
    """The three calls we need from a keyring backend."""

    description: str

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class VaultError(KeyEngineError):
    """The local secret store could not be read or written."""


class DamagedKeyringEntry(VaultError):
    """A keyring entry exists for the wallet but does not hold a valid private key bundle."""


class KeyringStore:
    """A ``keyring`` backend (by default the platform's); one entry per wallet."""

    def __init__(self, backend: Any = None) -> None:
        import keyring  # imported here: backends are probed at import, GUI-free either way

        self._backend = backend if backend is not None else keyring.get_keyring()
        self.description = describe_backend(self._backend)

    def get(self, name: str) -> str | None:
        try:
            value = self._backend.get_password(SERVICE_NAME, name)
        except Exception as exc:
            raise VaultError(f"cannot read from {self.description}: {type(exc).__name__}") from None
        return None if value is None else str(value)

    def set(self, name: str, value: str) -> None:
        try:
            self._backend.set_password(SERVICE_NAME, name, value)
        except Exception as exc:
            raise VaultError(f"cannot write to {self.description}: {type(exc).__name__}") from None

    def delete(self, name: str) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._backend.delete_password(SERVICE_NAME, name)


class MemoryStore:
    """In-process secret store for tests and for sessions that must remember nothing on disk."""

    description = "memory of this process only"

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)


def describe_backend(backend: Any) -> str:
    name = getattr(backend, "name", None) or type(backend).__name__
    return f"OS keyring ({name})"


NOT_REMEMBERED: Final = (
    "nowhere on this machine (no OS keyring): your wallet unlocks them each time"
)


def describe_where(secrets: SecretStore | None) -> str:
    """Where the private keys live, in the words every screen uses (one sentence for all)."""
    return NOT_REMEMBERED if secrets is None else secrets.description


def default_secret_store() -> SecretStore | None:
    """The platform keyring if a usable one exists, else ``None`` (remember nothing secret)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    chained = getattr(backend, "backends", None)
    if chained is not None and not chained:
        return None
    return KeyringStore(backend)


class Vault:
    """The private keys of every wallet used on this machine, and the files beside them: the
    journal (what is still to publish) and the invite logs (which invitations were read)."""

    def __init__(self, data_dir: Path, secrets: SecretStore | None) -> None:
        self.secrets = secrets
        self.journal = JournalStore(data_dir)
        self.invite_logs = InviteLogStore(data_dir)

    @property
    def remembers_keys(self) -> bool:
        return self.secrets is not None

    @property
    def where(self) -> str:
        """Plain words for the user: where the private keys of this machine live."""
        return describe_where(self.secrets)

    @staticmethod
    def _entry(wallet: str) -> str:
        """The keyring entry name of a wallet's bundle (one per EIP-55 address)."""
        return f"bundle:{to_checksum_address(wallet)}"

    def load_bundle(self, wallet: str) -> PrivateKeyBundleV1 | None:
        """The bundle kept for ``wallet``; ``None`` only when there is no entry at all.

        Raises ``DamagedKeyringEntry`` for an entry that does not decode into a valid bundle of
        that wallet, so a caller can tell the user instead of silently starting afresh.
        """
        if self.secrets is None:
            return None
        wallet = to_checksum_address(wallet)
        value = self.secrets.get(self._entry(wallet))
        if value is None:
            return None
        try:
            bundle = PrivateKeyBundleV1.from_bytes(base64.b64decode(value, validate=True))
            owner = bundle.wallet_address
        except (KeyEngineError, ValueError) as exc:
            raise DamagedKeyringEntry(
                f"the {self.secrets.description} entry for {wallet} is damaged: {exc}"
            ) from None
        if owner != wallet:
            raise DamagedKeyringEntry(
                f"the {self.secrets.description} entry for {wallet} holds another wallet's keys"
            )
        return bundle

    def save_bundle(
        self, bundle: PrivateKeyBundleV1, encrypted: EncryptedPrivateKeyBundle | None = None
    ) -> None:
        """Remember ``bundle`` (and, when given, the wallet-encrypted form stored beside it on
        the node, so a backup can be written while the node is unreachable)."""
        if self.secrets is not None:
            value = base64.b64encode(bundle.to_bytes()).decode()
            self.secrets.set(self._entry(bundle.wallet_address), value)
            if encrypted is not None:
                stored = base64.b64encode(encrypted.to_bytes()).decode()
                self.secrets.set(self._stored_entry(bundle.wallet_address), stored)

    @staticmethod
    def _stored_entry(wallet: str) -> str:
        return f"stored:{to_checksum_address(wallet)}"

    def load_encrypted(self, wallet: str) -> EncryptedPrivateKeyBundle | None:
        """The wallet-encrypted form remembered with the keys; ``None`` if absent or damaged
        (it is only a copy of what the node holds)."""
        if self.secrets is None:
            return None
        value = self.secrets.get(self._stored_entry(wallet))
        if value is None:
            return None
        try:
            return EncryptedPrivateKeyBundle.from_bytes(base64.b64decode(value, validate=True))
        except (KeyEngineError, ValueError):
            return None

    def forget(self, wallet: str) -> None:
        if self.secrets is not None:
            self.secrets.delete(self._entry(wallet))
            self.secrets.delete(self._stored_entry(wallet))
