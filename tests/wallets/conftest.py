"""Wallet fixtures: ethers v6 (a second keystore implementation) and a Hardhat dev node.

Both come from npm with exact versions and committed lockfiles (``make node-deps``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parent.parent / "interop"
ETHERS_DIR = INTEROP / "ethers"
HARDHAT_DIR = INTEROP / "hardhat"

HARDHAT_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
"""The first of Hardhat's publicly known, unlocked development accounts."""
HARDHAT_ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _require(directory: Path, package: str) -> str:
    node = shutil.which("node")
    if node is None or not (directory / "node_modules" / package).is_dir():
        pytest.fail(f"{directory.name} peer not installed: run `make node-deps` (make test does)")
    return node


def _run_node(script: str, argument: Path, request: dict[str, object]) -> dict[str, str]:
    node = _require(ETHERS_DIR, "ethers")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rpc(url: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        url, data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
        return json.loads(response.read())["result"]


@pytest.fixture(scope="session")
def hardhat_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Hardhat 2 development node on a free loopback port, for the whole session."""
    node = _require(HARDHAT_DIR, "hardhat")
    port = free_port()
    home = tmp_path_factory.mktemp("hardhat")
    log_path = home / "node.log"
    env = {
        **os.environ,
        "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
        "NO_COLOR": "1",
        # Hardhat keeps an analytics id and a vars file per user: keep them out of $HOME.
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    cli = HARDHAT_DIR / "node_modules" / "hardhat" / "internal" / "cli" / "cli.js"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(cli), "node", "--hostname", "127.0.0.1", "--port", str(port)],
            cwd=HARDHAT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"hardhat node exited: {log_path.read_text()[-2000:]}")
            try:
                accounts = _rpc(url, "eth_accounts")
                break
            except (OSError, urllib.error.URLError, ValueError):
                if time.monotonic() > deadline:
                    pytest.fail(f"hardhat node did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
        assert isinstance(accounts, list) and accounts[0] == HARDHAT_ACCOUNT_0.lower()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
