"""Real Ethereum V3 keystore files for tests (eth-account, scrypt with a small cost)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

PASSWORD = "correct horse"


def make_keystore(directory: Path, password: str = PASSWORD) -> tuple[Path, str]:
    """A real V3 keystore made with eth-account (scrypt with a small n, for speed)."""
    from eth_account import Account

    key = secrets.token_bytes(32)
    document = Account.encrypt(key, password, kdf="scrypt", iterations=1 << 10)
    path = directory / f"UTC--{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(document))
    return path, Account.from_key(key).address
