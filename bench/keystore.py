"""Keystore figures: the companion over loopback against xmtp-js's in-process InMemoryKeystore.

Both are timed inside the same xmtp-js process (the companion through the app developers'
``CompanionKeystoreProvider``), in the same run: ``decryptV2`` of a 1 KB message (one call and a
batch of 100), ``saveInvites`` of 100 invitations, and ``Client.create`` on the project's node.
Targets: one call ≤ 1 ms median; the batch of 100 faster than in-process; ``Client.create`` no
slower than 1.5× the in-memory keystore.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from app.keyengine.keystore_service.threaded import ThreadedKeystore
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.embedded import EmbeddedNode
from tests.interop.jsdriver import XmtpJs, b64

CASES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("decryptV2 1 KB", "decrypt_v2", {"batch": 1, "iterations": 300, "warmup": 30}),
    ("decryptV2 1 KB ×100", "decrypt_v2", {"batch": 100, "iterations": 60, "warmup": 5}),
    ("saveInvites ×100", "save_invites", {"batch": 100, "iterations": 5, "warmup": 1}),
    ("Client.create", "client_create", {"iterations": 20, "warmup": 3}),
)


def _targets(name: str, ours: float, theirs: float) -> tuple[str, bool]:
    if name == "decryptV2 1 KB":
        return "≤ 1000 µs", ours <= 1000
    if name == "Client.create":
        return "≤ 1.5× in-memory", ours <= 1.5 * theirs
    if name == "decryptV2 1 KB ×100":
        return "< in-process", ours < theirs
    return "(figure)", True


def measure() -> dict[str, dict[str, Any]]:
    bundle = asyncio.run(generate_identity(RawKeySigner(bytes([0x42]) * 32)))
    results: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNode(db_path=Path(tmp) / "node.sqlite3") as node,
        ThreadedKeystore(lambda: bundle, Path(tmp) / "keystore") as keystore,
        XmtpJs() as js,
    ):
        token = keystore.registry.allow("bench")
        for name, op, params in CASES:
            figures = js.call(
                "keystore_bench",
                op=op,
                keystore_url=keystore.url,
                token=token,
                bob_bundle=b64(bundle.to_bytes()),
                api_url=node.url,
                **params,
            )
            ours, theirs = float(figures["companion"]), float(figures["memory"])
            target, ok = _targets(name, ours, theirs)
            results[name] = {
                "companion_us": round(ours, 1),
                "in_memory_us": round(theirs, 1),
                "ratio": round(theirs / ours, 2),
                "target": target,
                "ok": ok,
            }
    return results


def print_report(results: dict[str, dict[str, Any]]) -> None:
    print(
        f"{'keystore (in xmtp-js)':<24}{'companion µs':>14}{'in-memory µs':>14}{'ratio':>8}  target"
    )
    for name, row in results.items():
        verdict = "ok" if row["ok"] else "MISSED"
        print(
            f"{name:<24}{row['companion_us']:>14.1f}{row['in_memory_us']:>14.1f}"
            f"{row['ratio']:>8.2f}  {verdict} ({row['target']})"
        )


if __name__ == "__main__":
    print_report(measure())
