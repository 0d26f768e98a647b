"""Local persistence of keys: the OS keyring for secrets, a journal on disk for what is safe.

* The **private key bundle** goes only to a secret store: the OS keyring (Secret Service,
  macOS Keychain, Windows Credential Locker) through ``keyring``.  Where none exists (a headless
  server), nothing secret is remembered at all; ``Vault.where`` says so for the user.
* The **journal** records what a flow still has to send: the *encrypted* bundle (safe at rest:
  only the wallet can open it) and the public contacts.  It is written atomically, owner-only,
  before anything goes to the network, so a crash or a dead node resumes on the next login
  without a second identity and without losing a pre-key.
"""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.keyengine import json_input
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import write_private_file

SERVICE_NAME = "xmtp-key-companion"


class SecretStore(Protocol):
    """The three calls we need from a keyring backend."""

    description: str

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class VaultError(KeyEngineError):
    """The local secret store or journal could not be read or written."""


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


@dataclass
class Journal:
    """What a flow still has to publish for one wallet.  Holds nothing secret."""

    wallet: str
    encrypted_bundle: bytes
    store_timestamp_ns: int
    contacts: list[bytes] = field(default_factory=list)
    contact_timestamps_ns: list[int] = field(default_factory=list)
    stored: bool = False
    contacts_published: int = 0
    identity_key: str = ""
    pre_keys: list[str] = field(default_factory=list)
    source: str = "generated"

    @property
    def done(self) -> bool:
        return self.stored and self.contacts_published >= len(self.contacts)

    def to_json(self) -> bytes:
        data = {
            "wallet": self.wallet,
            "encrypted_bundle": base64.b64encode(self.encrypted_bundle).decode(),
            "store_timestamp_ns": self.store_timestamp_ns,
            "contacts": [base64.b64encode(c).decode() for c in self.contacts],
            "contact_timestamps_ns": self.contact_timestamps_ns,
            "stored": self.stored,
            "contacts_published": self.contacts_published,
            "identity_key": self.identity_key,
            "pre_keys": self.pre_keys,
            "source": self.source,
        }
        return json.dumps(data, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Journal:
        data = json_input.loads(raw)
        return cls(
            wallet=str(data["wallet"]),
            encrypted_bundle=base64.b64decode(data["encrypted_bundle"]),
            store_timestamp_ns=int(data["store_timestamp_ns"]),
            contacts=[base64.b64decode(c) for c in data["contacts"]],
            contact_timestamps_ns=[int(t) for t in data["contact_timestamps_ns"]],
            stored=bool(data["stored"]),
            contacts_published=int(data["contacts_published"]),
            identity_key=str(data.get("identity_key", "")),
            pre_keys=[str(k) for k in data.get("pre_keys", [])],
            source=str(data.get("source", "generated")),
        )


class Vault:
    """Keys and pending work of every wallet used on this machine."""

    def __init__(self, data_dir: Path, secrets: SecretStore | None) -> None:
        self.data_dir = data_dir
        self.secrets = secrets

    @property
    def remembers_keys(self) -> bool:
        return self.secrets is not None

    @property
    def where(self) -> str:
        """Plain words for the user: where the private keys of this machine live."""
        if self.secrets is None:
            return "nowhere on this machine (no OS keyring): your wallet unlocks them each time"
        return self.secrets.description

    def _journal_path(self, wallet: str) -> Path:
        return self.data_dir / "journal" / f"{to_checksum_address(wallet)}.json"

    # -- secrets ---------------------------------------------------------------------------

    def load_bundle(self, wallet: str) -> PrivateKeyBundleV1 | None:
        if self.secrets is None:
            return None
        value = self.secrets.get(f"bundle:{to_checksum_address(wallet)}")
        if value is None:
            return None
        try:
            return PrivateKeyBundleV1.from_bytes(base64.b64decode(value))
        except (KeyEngineError, ValueError):
            return None

    def save_bundle(self, bundle: PrivateKeyBundleV1) -> None:
        if self.secrets is not None:
            name = f"bundle:{bundle.wallet_address}"
            self.secrets.set(name, base64.b64encode(bundle.to_bytes()).decode())

    def forget(self, wallet: str) -> None:
        if self.secrets is not None:
            self.secrets.delete(f"bundle:{to_checksum_address(wallet)}")

    # -- journal ---------------------------------------------------------------------------

    def pending(self, wallet: str) -> Journal | None:
        path = self._journal_path(wallet)
        try:
            return Journal.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (json_input.JsonTooDeep, RecursionError):
            raise VaultError(f"the journal {path} is damaged: JSON nested too deeply") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VaultError(f"the journal {path} is damaged: {exc}") from None

    def write_journal(self, journal: Journal) -> None:
        try:
            write_private_file(self._journal_path(journal.wallet), journal.to_json())
        except OSError as exc:
            raise VaultError(f"cannot write the journal: {exc}") from None

    def clear_journal(self, wallet: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._journal_path(wallet).unlink()
