"""The journal: what a flow still has to publish for a wallet, kept on disk until it is sent.

A flow that creates or changes a private bundle writes the journal *before* anything goes to
the network: the *encrypted* bundle (safe at rest: only the wallet can open it), the public
contacts and how far publishing got.  A crash or a dead node then resumes on the next login
without a second identity and without losing a pre-key.  It holds nothing secret, but it is
still written owner-only: files 0600 in 0700 directories, atomically (``write_private_file``);
a temporary file a crash left behind is removed when the next session opens the journal.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from app.keyengine import json_input
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.errors import JournalError
from app.keyengine.files import (
    PRIVATE_DIR_MODE,
    TEMP_SUFFIX,
    make_private_dir,
    write_private_file,
)

JOURNAL_DIR: Final = "journal"
STALE_TEMP_S: Final = 60.0
"""A temporary file older than this was left by a crash; a younger one may be another running
session's write in progress (the CLI and the desktop app may share a data directory)."""


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


class JournalStore:
    """The journal files of every wallet used with one data directory, one file per wallet.

    Opening the store removes the temporary files a crash left behind (an interrupted
    ``write_private_file``, older than ``STALE_TEMP_S``); the journal files themselves are
    kept, whatever their state.
    """

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / JOURNAL_DIR
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        now = time.time()
        for name in names:
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            path = self.directory / name
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_TEMP_S:
                    path.unlink()

    def path(self, wallet: str) -> Path:
        return self.directory / f"{to_checksum_address(wallet)}.json"

    def pending(self, wallet: str) -> Journal | None:
        """The journal of ``wallet``: ``None`` if none is pending; ``JournalError`` if damaged."""
        path = self.path(wallet)
        try:
            return Journal.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (json_input.JsonTooDeep, RecursionError):
            raise JournalError(f"the journal {path} is damaged: JSON nested too deeply") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"the journal {path} is damaged: {exc}") from None

    def write(self, journal: Journal) -> None:
        try:
            make_private_dir(self.directory)
            os.chmod(self.directory, PRIVATE_DIR_MODE)
            write_private_file(self.path(journal.wallet), journal.to_json())
        except OSError as exc:
            raise JournalError(f"cannot write the journal: {exc}") from None

    def clear(self, wallet: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(wallet).unlink()
