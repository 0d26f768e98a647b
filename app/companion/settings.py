"""What the app remembers between runs: a small JSON file in the data dir, never a secret.

Accounts are remembered by address and by *how* to reach the wallet (keystore path, JSON-RPC
URL, WalletConnect); passwords, keys and WalletConnect symmetric keys are never written here
(WalletConnect sessions live in the OS keyring through ``app.walletconnect``'s session store).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from app.keyengine import json_input
from app.keyengine.files import write_private_file
from app.walletconnect.constants import DEFAULT_RELAY_URL

log = logging.getLogger(__name__)

SETTINGS_FILE: Final = "companion-settings.json"


@dataclass
class SavedAccount:
    """How to reach one wallet again: its kind and where it lives (no secret)."""

    address: str
    kind: str
    """``keystore``, ``jsonrpc``, ``walletconnect`` or ``rawkey``."""
    location: str = ""
    """Keystore path or JSON-RPC URL; empty for WalletConnect (the session store knows)."""
    label: str = ""
    """A name the person gave the account ("work")."""

    @classmethod
    def from_json(cls, data: object) -> SavedAccount | None:
        if not isinstance(data, dict):
            return None
        address, kind = data.get("address"), data.get("kind")
        if not isinstance(address, str) or not isinstance(kind, str):
            return None
        location, label = data.get("location"), data.get("label")
        return cls(
            address,
            kind,
            location if isinstance(location, str) else "",
            label if isinstance(label, str) else "",
        )


@dataclass
class Settings:
    node_url: str = ""
    """Empty: run the embedded node. Otherwise the base URL of an XMTP node."""
    relay_url: str = DEFAULT_RELAY_URL
    project_id: str = ""
    remember_keys: bool = True
    auto_lock_minutes: int = 0
    """Drop the decrypted keys after this many idle minutes (0: never, the default)."""
    accounts: list[SavedAccount] = field(default_factory=list)
    last_account: str = ""

    def remember(self, account: SavedAccount) -> None:
        """Add or update ``account`` (keeping its label) and make it the last one used."""
        for known in self.accounts:
            if known.address.lower() == account.address.lower() and not account.label:
                account.label = known.label
        self.accounts = [a for a in self.accounts if a.address.lower() != account.address.lower()]
        self.accounts.append(account)
        self.last_account = account.address

    def forget(self, address: str) -> None:
        self.accounts = [a for a in self.accounts if a.address.lower() != address.lower()]
        if self.last_account.lower() == address.lower():
            self.last_account = self.accounts[-1].address if self.accounts else ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Settings:
        data: Any = json_input.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("settings are not a JSON object")
        defaults = cls()
        accounts = [a for a in map(SavedAccount.from_json, data.get("accounts", [])) if a]
        return cls(
            node_url=_str(data.get("node_url"), defaults.node_url),
            relay_url=_str(data.get("relay_url"), defaults.relay_url),
            project_id=_str(data.get("project_id"), defaults.project_id),
            remember_keys=bool(data.get("remember_keys", defaults.remember_keys)),
            auto_lock_minutes=_minutes(data.get("auto_lock_minutes")),
            accounts=accounts,
            last_account=_str(data.get("last_account"), ""),
        )


def _minutes(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        return value
    return 0


def _str(value: object, default: str) -> str:
    return value if isinstance(value, str) else default


class SettingsStore:
    """Load and save ``Settings`` in ``data_dir`` (atomic, owner-only)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SETTINGS_FILE

    def load(self) -> Settings:
        try:
            return Settings.from_json(self.path.read_bytes())
        except FileNotFoundError:
            return Settings()
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("ignoring unreadable settings %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.rename(self.path.with_suffix(".damaged"))
            return Settings()

    def save(self, settings: Settings) -> None:
        write_private_file(self.path, settings.to_json())
