"""The local activity log: every signature requested, every publish and warning, as JSON lines.

Entries hold purposes, the signed *texts* (public: they name a public key or a random wallet
pre-key), addresses, topics, outcomes and times — never a key or a signature.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from app.keyengine import json_input

log = logging.getLogger(__name__)

ACTIVITY_FILE: Final = "activity.jsonl"
ACTION: Final = "action"
"""One user action (connect, create, rotate, export, restore, lookup, pairing) and its result;
the Activity screen shows these and the warnings, the file also keeps each step."""
SHOWN_KINDS: Final = frozenset({ACTION, "warning", "keystore"})
"""What the Activity screen lists: user actions, warnings, and what apps asked the keystore."""
MAX_LOADED: Final = 5000


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    time: float
    kind: str
    """``action``, ``signature``, ``publish`` or ``warning``."""
    summary: str
    """Purpose of a signature, what was published, or the warning."""
    result: str
    """Outcome of a signature (signed, declined, cancelled, failed), ``published`` or
    ``warning``."""
    address: str = ""
    text: str = ""
    """The exact signed text, or the topic published to."""

    @classmethod
    def from_json(cls, line: str) -> ActivityEntry | None:
        try:
            data = json_input.loads(line)
            return cls(
                time=float(data["time"]),
                kind=str(data["kind"]),
                summary=str(data["summary"]),
                result=str(data["result"]),
                address=str(data.get("address", "")),
                text=str(data.get("text", "")),
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            return None


class ActivityLog:
    """Append-only JSON-lines file in the data dir (owner-only), plus listeners for the GUI."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = data_dir / ACTIVITY_FILE
        self._clock = clock
        self._listeners: list[Callable[[ActivityEntry], None]] = []

    def subscribe(self, listener: Callable[[ActivityEntry], None]) -> None:
        self._listeners.append(listener)

    def load(self) -> list[ActivityEntry]:
        """The newest ``MAX_LOADED`` entries, oldest first (damaged lines are skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read the activity log: %s", exc)
            return []
        return [e for e in map(ActivityEntry.from_json, lines[-MAX_LOADED:]) if e is not None]

    def add(
        self, kind: str, summary: str, result: str, *, address: str = "", text: str = ""
    ) -> ActivityEntry:
        entry = ActivityEntry(self._clock(), kind, summary, result, address, text)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("cannot write the activity log: %s", exc)
        for listener in self._listeners:
            listener(entry)
        return entry
