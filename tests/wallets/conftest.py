"""Wallet fixtures: a Hardhat dev node for the whole session (helpers: ``tests/support/
ethereum_peers.py``)."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
from collections.abc import Iterator

import pytest

from tests.support.ethereum_peers import HARDHAT_ACCOUNT_0, HARDHAT_DIR, require_package, rpc_call
from tests.support.ports import free_port


@pytest.fixture(scope="session")
def hardhat_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Hardhat 2 development node on a free loopback port, for the whole session."""
    node = require_package(HARDHAT_DIR, "hardhat")
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
                accounts = rpc_call(url, "eth_accounts")
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
