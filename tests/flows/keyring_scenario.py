"""Run inside ``dbus-run-session``: unlock a fresh gnome-keyring and use it as the vault.

Usage: python -m tests.flows.keyring_scenario NODE_URL DATA_DIR
Prints one JSON line with what it observed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from keyring.backends import SecretService

from app.keyengine.flows import EventKind, FlowEvent, KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import KeyringStore, Vault
from app.keyengine.wallets import RawKeySigner


async def main(url: str, data_dir: Path) -> dict[str, object]:
    subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
        input=b"test-password",
        check=True,
        capture_output=True,
        timeout=30,
    )
    store = KeyringStore(SecretService.Keyring())
    signer = RawKeySigner(bytes.fromhex("6b" * 32))
    events: list[FlowEvent] = []
    async with XmtpClient(url) as client:
        vault = Vault(data_dir, store)
        identity = await KeyFlows(client, vault, events.append).login(signer)
        rotated = await KeyFlows(client, vault).rotate_prekey(signer, identity)
    # A new Vault object (as after a restart) finds the rotated bundle in the keyring.
    remembered = Vault(data_dir, KeyringStore(SecretService.Keyring())).load_bundle(signer.address)
    secret_hex = [k.secret.hex() for k in (rotated.bundle.identity_key, *rotated.bundle.pre_keys)]
    on_disk = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    return {
        "where": vault.where,
        "remembered_equal": remembered == rotated.bundle,
        "pre_keys": len(rotated.bundle.pre_keys),
        "secret_on_disk": any(
            h.encode() in on_disk or bytes.fromhex(h) in on_disk for h in secret_hex
        ),
        "saving_event": any(
            e.kind is EventKind.PROGRESS and "OS keyring" in e.message for e in events
        ),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], Path(sys.argv[2])))))
