"""The apps the user allowed to use the keystore: tokens (stored only as hashes) and their use.

``apps.json`` holds, per app name, the SHA-256 of its 256-bit random token, whether it may export
the keys, its approved browser origins, creation and revocation times.  ``usage.json`` holds
last use and calls per method.  Both are 0600 files replaced atomically.  A running service
re-reads ``apps.json`` when it changes on disk, so ``keystore revoke`` (another process) takes
effect on the next request.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.keyengine.errors import KeyEngineError
from app.keyengine.files import write_private_file

APPS_FILE = "apps.json"
USAGE_FILE = "usage.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
TOKEN_PREFIX = "xks_"  # noqa: S105 - a prefix, not a secret


class AppRegistryError(KeyEngineError):
    """An app name is invalid, taken, or unknown."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class AppRecord:
    name: str
    token_sha256: str
    allow_export: bool = False
    origins: list[str] = field(default_factory=list)
    created: float = 0.0
    revoked: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "token_sha256": self.token_sha256,
            "allow_export": self.allow_export,
            "origins": self.origins,
            "created": self.created,
            "revoked": self.revoked,
        }

    @classmethod
    def from_json(cls, name: str, raw: dict[str, Any]) -> AppRecord:
        return cls(
            name,
            str(raw["token_sha256"]),
            bool(raw.get("allow_export", False)),
            [str(o) for o in raw.get("origins", [])],
            float(raw.get("created", 0.0)),
            None if raw.get("revoked") is None else float(raw["revoked"]),
        )


@dataclass
class AppUsage:
    last_used: float | None = None
    calls: dict[str, int] = field(default_factory=dict)


class AppRegistry:
    """Apps and usage under ``directory``; safe to share between a server and the CLI."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._apps: dict[str, AppRecord] = {}
        self._by_hash: dict[str, AppRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self.usage: dict[str, AppUsage] = self._load_usage()
        self._usage_dirty = False
        self.refresh()

    # -- apps file -------------------------------------------------------------------------

    def _path(self) -> Path:
        return self.directory / APPS_FILE

    def refresh(self) -> None:
        """Re-read ``apps.json`` if it changed on disk since the last read (cheap: one stat)."""
        try:
            stat = self._path().stat()
        except FileNotFoundError:
            stamp = None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and (stamp is not None or not self._apps):
            return
        self._stamp = stamp
        raw: dict[str, Any] = {}
        if stamp is not None:
            raw = json.loads(self._path().read_text("utf-8")).get("apps", {})
        self._apps = {name: AppRecord.from_json(name, value) for name, value in raw.items()}
        self._by_hash = {app.token_sha256: app for app in self._apps.values()}

    def _save(self) -> None:
        data = {"apps": {name: app.to_json() for name, app in self._apps.items()}}
        write_private_file(self._path(), json.dumps(data, indent=1).encode("utf-8"))
        self._stamp = None
        self.refresh()

    @property
    def apps(self) -> list[AppRecord]:
        self.refresh()
        return list(self._apps.values())

    def allow(
        self, name: str, *, allow_export: bool = False, origins: list[str] | None = None
    ) -> str:
        """Create app ``name`` (or replace a revoked one); return its token, shown only now."""
        if not _NAME.match(name):
            raise AppRegistryError(
                "an app name is 1-64 letters, digits, spaces, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        self.refresh()
        existing = self._apps.get(name)
        if existing is not None and existing.revoked is None:
            raise AppRegistryError(f"app {name!r} already has a token; revoke it first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._apps[name] = AppRecord(
            name, token_hash(token), allow_export, list(origins or []), time.time()
        )
        self.usage.pop(name, None)
        self._usage_dirty = True
        self._save()
        self.flush_usage()
        return token

    def revoke(self, name: str) -> None:
        self.refresh()
        app = self._apps.get(name)
        if app is None or app.revoked is not None:
            raise AppRegistryError(f"no app {name!r} with a valid token")
        app.revoked = time.time()
        self._save()

    def authenticate(self, token: str) -> AppRecord | None:
        """The live (not revoked) app holding ``token``, or ``None``."""
        self.refresh()
        app = self._by_hash.get(token_hash(token))
        if app is None or app.revoked is not None:
            return None
        return app

    # -- usage -----------------------------------------------------------------------------

    def _load_usage(self) -> dict[str, AppUsage]:
        try:
            raw = json.loads((self.directory / USAGE_FILE).read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {
            name: AppUsage(value.get("last_used"), {k: int(v) for k, v in value["calls"].items()})
            for name, value in raw.items()
        }

    def reload_usage(self) -> None:
        self.usage = self._load_usage()

    def record(self, name: str, method: str, count: int = 1) -> None:
        usage = self.usage.setdefault(name, AppUsage())
        usage.last_used = time.time()
        usage.calls[method] = usage.calls.get(method, 0) + count
        self._usage_dirty = True

    def usage_snapshot(self) -> bytes | None:
        """The usage file's new content if anything changed since the last snapshot."""
        if not self._usage_dirty:
            return None
        self._usage_dirty = False
        data = {
            name: {"last_used": usage.last_used, "calls": dict(usage.calls)}
            for name, usage in self.usage.items()
        }
        return json.dumps(data).encode("utf-8")

    def write_usage(self, snapshot: bytes) -> None:
        """Write a snapshot (safe from another thread: it touches no shared state)."""
        write_private_file(self.directory / USAGE_FILE, snapshot)

    def flush_usage(self) -> None:
        snapshot = self.usage_snapshot()
        if snapshot is not None:
            self.write_usage(snapshot)
