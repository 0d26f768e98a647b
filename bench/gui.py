"""Desktop-app figures for ``make bench``, measured offscreen in a child process.

Keys of ``measure()``: ``keystore_unlock_max_stall_ms`` and ``login_max_stall_ms`` (the longest
gap between ticks of a 5 ms timer on the app's qasync loop while a real scrypt n=262144
keystore is unlocked, and while a full generation login runs against the embedded node), and
``prekeys_100k_load_ms``, ``prekeys_100k_scroll_ms``, ``prekeys_100k_scroll_step_p99_ms``
(a 100,000-row pre-key history put into the real model and table, then scrolled top to bottom
in 200 steps).  Start-up to an interactive window is measured by ``bench.binary``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

ROWS = 100_000
SCROLL_STEPS = 200


def measure() -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.gui", "--child"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def _child() -> dict[str, float]:
    from app.companion.application import create_application
    from app.companion.qt import QEventLoop, QTimer
    from app.companion.viewmodels.prekeys import BundlePreKeys, PreKeyTableModel
    from app.companion.views.prekeys import make_table
    from app.keyengine.bundles import PrivateKeyBundleV1
    from app.keyengine.flows import KeyFlows
    from app.keyengine.keys import PrivateKey
    from app.keyengine.network import XmtpClient
    from app.keyengine.prekeys import new_pre_key
    from app.keyengine.vault import Vault
    from app.keyengine.wallets import RawKeySigner
    from app.keyengine.wallets.keystore import KeystoreSigner, create_keystore
    from app.xmtpnode.embedded import EmbeddedNode

    app = create_application()
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    last = [time.perf_counter()]
    worst = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()

    def stall_during(work: Awaitable[Any]) -> float:
        async def run() -> None:
            await asyncio.sleep(0.05)
            last[0], worst[0] = time.perf_counter(), 0.0
            await work

        loop.run_until_complete(run())
        return worst[0] * 1000

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        keyfile = tmp / "wallet.json"
        loop.run_until_complete(create_keystore(keyfile, "bench password"))
        results["keystore_unlock_max_stall_ms"] = stall_during(
            KeystoreSigner.unlock(keyfile, "bench password")
        )
        with EmbeddedNode(db_path=tmp / "node.sqlite3") as node:
            assert node.url is not None

            async def login() -> None:
                async with XmtpClient(str(node.url)) as client:
                    await KeyFlows(client, Vault(tmp / "data", None)).login(
                        RawKeySigner(os.urandom(32))
                    )

            results["login_max_stall_ms"] = stall_during(login())
    timer.stop()

    # A 100,000-key history (a few hundred distinct keys repeated: rows are only displayed).
    identity = PrivateKey.generate(1_700_000_000_000)
    distinct = [new_pre_key(identity, 1_700_000_000_000 + i) for i in range(256)]
    bundle = PrivateKeyBundleV1(identity, tuple(distinct[i % 256] for i in range(ROWS)))
    model = PreKeyTableModel()
    table = make_table("history")
    table.resize(900, 500)
    start = time.perf_counter()
    model.set_source(BundlePreKeys(bundle))
    table.setModel(model)
    table.show()
    app.processEvents()
    results["prekeys_100k_load_ms"] = (time.perf_counter() - start) * 1000
    bar = table.verticalScrollBar()
    steps = []
    start = time.perf_counter()
    for i in range(1, SCROLL_STEPS + 1):
        step_start = time.perf_counter()
        bar.setValue(bar.maximum() * i // SCROLL_STEPS)
        app.processEvents()
        steps.append(time.perf_counter() - step_start)
    results["prekeys_100k_scroll_ms"] = (time.perf_counter() - start) * 1000
    steps.sort()
    results["prekeys_100k_scroll_step_p99_ms"] = steps[int(0.99 * len(steps))] * 1000
    table.close()
    return {k: round(v, 2) for k, v in results.items()}


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(_child()), flush=True)
        # qasync's worker thread (used for the off-loop scrypt) would abort Qt's teardown; the
        # figures are out, so leave without it.
        os._exit(0)
    else:
        for key, value in measure().items():
            print(f"{key}: {value}")
