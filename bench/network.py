"""Network benchmarks: login latency on the embedded node, and node throughput on loopback.

Login latency excludes the time the wallet spends signing (a person approving a prompt), so it
measures what the app itself costs.  Throughput drives a node running in its own process (as a
team would deploy it) with 1, 16 and 128 concurrent clients for a fixed short time each.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from app.keyengine.authn import create_auth_token
from app.keyengine.flows import KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.recipes import generate_identity
from app.keyengine.vault import Vault
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.embedded import EmbeddedNode

CONCURRENCY = (1, 16, 128)
# One wallet and one address drive the whole load, which the node's per-wallet and
# per-address ceilings (README, Reliability) would refuse as a flood: the benchmark raises
# them (0 = off) and says so in its output.
BENCH_LIMITS = {
    "requests_per_address_per_s": "0",
    "publishes_per_wallet_per_s": "0",
    "bytes_per_wallet_per_hour": "0",
    "pending_per_client": "100000",
}
LEVEL_SECONDS = 1.5
LOGINS = 30


class TimedSigner:
    """Wraps a signer and adds up the time spent inside ``sign_personal``."""

    def __init__(self, inner: RawKeySigner) -> None:
        self.inner = inner
        self.signing_ns = 0

    @property
    def address(self) -> str:
        return self.inner.address

    async def sign_personal(self, text: str) -> bytes:
        start = time.perf_counter_ns()
        try:
            return await self.inner.sign_personal(text)
        finally:
            self.signing_ns += time.perf_counter_ns() - start


async def _login_latency(url: str, data_dir: Path) -> dict[str, float]:
    generation, retrieval = [], []
    async with XmtpClient(url) as client:
        for i in range(LOGINS):
            signer = TimedSigner(RawKeySigner(secrets.token_bytes(32)))
            vault = Vault(data_dir / str(i), None)
            for samples in (generation, retrieval):
                start = time.perf_counter_ns()
                await KeyFlows(client, vault).login(signer)
                samples.append(time.perf_counter_ns() - start - signer.signing_ns)
                signer.signing_ns = 0
    return {
        "login_generate_ms": statistics.median(generation) / 1e6,
        "login_retrieve_ms": statistics.median(retrieval) / 1e6,
    }


def measure_login() -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNode(db_path=Path(tmp) / "node.sqlite3") as node,
    ):
        assert node.url is not None
        return asyncio.run(_login_latency(node.url, Path(tmp)))


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _drive(url: str, kind: str, clients: int, token: str, topic: str) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + LEVEL_SECONDS
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(index: int) -> None:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                if kind == "publish":
                    body: dict[str, Any] = {
                        "envelopes": [
                            {
                                "contentTopic": topic,
                                "timestampNs": str(time.time_ns() + index),
                                "message": "aGVsbG8gd29ybGQ=",
                            }
                        ]
                    }
                    path, headers = "/message/v1/publish", {"Authorization": f"Bearer {token}"}
                else:
                    body = {"contentTopics": [topic], "pagingInfo": {"limit": 10}}
                    path, headers = "/message/v1/query", {}
                start = time.perf_counter()
                async with session.post(url + path, json=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "per_s": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def measure_node() -> dict[str, dict[str, float]]:
    """Throughput of a standalone node process (``python -m app.xmtpnode``) on loopback."""
    results: dict[str, dict[str, float]] = {}
    raised = [arg for name, value in BENCH_LIMITS.items() for arg in ("--limit", f"{name}={value}")]
    print("node limits raised for the benchmark: " + ", ".join(raised[1::2]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.xmtpnode",
                "--port",
                "0",
                "--db",
                f"{tmp}/node.sqlite3",
                *raised,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().removeprefix("listening on ")
            bundle = asyncio.run(generate_identity(RawKeySigner(secrets.token_bytes(32))))
            token = create_auth_token(bundle)
            topic = f"/xmtp/0/m-{secrets.token_hex(32)}/proto"
            for kind in ("publish", "query"):
                for clients in CONCURRENCY:
                    results[f"{kind}_c{clients}"] = asyncio.run(
                        _drive(url, kind, clients, token, topic)
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return results
