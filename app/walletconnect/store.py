"""Sessions that survive restarts, kept in the OS keyring as ONE JSON value.

The client seed (our relay identity) and every session's symKey, peer and account are written
together in a single ``SecretStore.set``: there is no moment where a session exists without its
key or the other way round (the "No matching key" failures of other dApps).  The symKeys are
secrets (anyone holding one can ask the wallet to sign in our name), hence the keyring.

Expired sessions are dropped whenever the value is read; a session the wallet deleted is dropped
when the delete arrives (``drop``).  Either way the caller finds no session and must reconnect.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from app.walletconnect.relay_auth import ClientKey
from app.walletconnect.session import Session

log = logging.getLogger(__name__)

STORE_NAME: Final = "walletconnect"
_VERSION: Final = 1


class SecretStore(Protocol):
    """Where the one WalletConnect value lives: an OS keyring, or memory for a single run.

    Any object with these members will do (the engine's keyring stores have them).  A store that
    cannot read or write raises its own typed error; the client passes it on unchanged.
    """

    @property
    def description(self) -> str:
        """Where the values live, in words for the user."""
        ...

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


class SessionStore:
    """Read-modify-write of the single WalletConnect entry of a ``SecretStore``.

    Calls are synchronous (a keyring may block briefly); the client runs them off the event loop,
    one at a time.
    """

    def __init__(
        self,
        secrets: SecretStore,
        *,
        name: str = STORE_NAME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._name = name
        self._clock = clock

    @property
    def description(self) -> str:
        """Where the sessions live, in words for the user."""
        return self._secrets.description

    def _read(self) -> dict[str, Any]:
        raw = self._secrets.get(self._name)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            log.warning("the stored WalletConnect state is damaged; starting afresh")
            return {}
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            log.warning("the stored WalletConnect state has an unknown format; starting afresh")
            return {}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        data["version"] = _VERSION
        self._secrets.set(self._name, json.dumps(data, separators=(",", ":"), sort_keys=True))

    def _live_sessions(self, data: dict[str, Any]) -> tuple[dict[str, Session], bool]:
        """Sessions in ``data`` that parse and have not expired; and whether any was dropped."""
        now = self._clock()
        live: dict[str, Session] = {}
        dropped = False
        stored = data.get("sessions")
        for topic, value in (stored if isinstance(stored, dict) else {}).items():
            try:
                session = Session.from_json(value)
            except (KeyError, TypeError, ValueError):
                dropped = True
                continue
            if session.expired(now) or session.topic != topic:
                dropped = True
                continue
            live[topic] = session
        return live, dropped

    def client_key(self) -> ClientKey:
        """Our persistent Ed25519 relay identity, created (and stored) on first use."""
        data = self._read()
        seed = data.get("clientSeed")
        if isinstance(seed, str):
            try:
                return ClientKey(bytes.fromhex(seed))
            except ValueError:
                log.warning("the stored WalletConnect client seed is damaged; making a new one")
        key = ClientKey.generate()
        data["clientSeed"] = key.seed.hex()
        self._write(data)
        return key

    def sessions(self) -> list[Session]:
        """Live sessions, newest expiry first; expired or damaged ones are removed for good."""
        data = self._read()
        live, dropped = self._live_sessions(data)
        if dropped:
            data["sessions"] = {topic: s.to_json() for topic, s in live.items()}
            self._write(data)
        return sorted(live.values(), key=lambda s: s.expiry, reverse=True)

    def latest(self, address: str | None = None) -> Session | None:
        """The live session to resume (for ``address`` if given, case-insensitive)."""
        for session in self.sessions():
            if address is None or session.address.lower() == address.lower():
                return session
        return None

    def save(self, session: Session) -> None:
        """Add or replace ``session`` (and drop expired ones) in one write."""
        data = self._read()
        live, _ = self._live_sessions(data)
        live[session.topic] = session
        data["sessions"] = {topic: s.to_json() for topic, s in live.items()}
        data.setdefault("clientSeed", ClientKey.generate().seed.hex())
        self._write(data)

    def drop(self, topic: str) -> None:
        """Forget a session (deleted by either side, or expired)."""
        data = self._read()
        live, dropped = self._live_sessions(data)
        if live.pop(topic, None) is not None or dropped:
            data["sessions"] = {t: s.to_json() for t, s in live.items()}
            self._write(data)

    def forget_account(self, address: str) -> None:
        """Forget every session of ``address`` (case-insensitive), in one write."""
        data = self._read()
        live, dropped = self._live_sessions(data)
        kept = {t: s for t, s in live.items() if s.address.lower() != address.lower()}
        if len(kept) != len(live) or dropped:
            data["sessions"] = {t: s.to_json() for t, s in kept.items()}
            self._write(data)
