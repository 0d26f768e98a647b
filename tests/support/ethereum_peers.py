"""Ethereum peers the wallet tests drive: ethers v6 (a second keystore implementation) and a
Hardhat dev node (a JSON-RPC wallet).

Both come from npm with exact versions and committed lockfiles (``make node-deps``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parent.parent / "interop"
ETHERS_DIR = INTEROP / "ethers"
HARDHAT_DIR = INTEROP / "hardhat"

HARDHAT_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
"""The first of Hardhat's publicly known, unlocked development accounts."""
HARDHAT_ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def require_package(directory: Path, package: str) -> str:
    node = shutil.which("node")
    if node is None or not (directory / "node_modules" / package).is_dir():
        pytest.fail(f"{directory.name} peer not installed: run `make node-deps` (make test does)")
    return node


def _run_node(script: str, argument: Path, request: dict[str, object]) -> dict[str, str]:
    node = require_package(ETHERS_DIR, "ethers")
    done = subprocess.run(
        [node, str(ETHERS_DIR / script), str(argument)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ETHERS_DIR,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed: {done.stderr.strip()}")
    result: dict[str, str] = json.loads(done.stdout)
    return result


def ethers_make_keystore(out: Path, private_key: bytes, password: str, scrypt_n: int) -> str:
    """Write an ethers-made V3 keystore to ``out``; return its address (EIP-55)."""
    request = {"privateKey": "0x" + private_key.hex(), "password": password, "scryptN": scrypt_n}
    reply = _run_node("make_keystore.mjs", out, request)
    assert reply["version"] == "6.17.0"
    return reply["address"]


def ethers_read_keystore(path: Path, password: str) -> str:
    """Decrypt ``path`` with ethers; return the address it holds."""
    return _run_node("read_keystore.mjs", path, {"password": password})["address"]


def rpc_call(url: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        url, data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
        return json.loads(response.read())["result"]
