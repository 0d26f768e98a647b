"""Run one flow in a child process and SIGKILL it at the Nth flow event (crash-safety tests).

Usage: python -m tests.flows.kill_runner URL DATA_DIR WALLET_HEX ACTION KILL_AT
ACTION is ``login`` or ``rotate``; KILL_AT < 0 runs to the end and prints the event count.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from app.keyengine.flows import FlowEvent, KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import Vault
from app.keyengine.wallets import RawKeySigner


async def main(url: str, data_dir: str, wallet_hex: str, action: str, kill_at: int) -> int:
    seen = 0

    def on_event(event: FlowEvent) -> None:
        nonlocal seen
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        seen += 1

    signer = RawKeySigner(bytes.fromhex(wallet_hex))
    async with XmtpClient(url, retries=0) as client:
        flows = KeyFlows(client, Vault(Path(data_dir), None), on_event)
        identity = await flows.login(signer)
        if action == "rotate":
            await flows.rotate_prekey(signer, identity)
    print(seen)
    return 0


if __name__ == "__main__":
    url, data_dir, wallet_hex, action, kill_at = sys.argv[1:6]
    sys.exit(asyncio.run(main(url, data_dir, wallet_hex, action, int(kill_at))))
