"""Hostile input files: costly keystores are refused before any work, an unlock can be stopped
within a second (task cancel, Ctrl-C), nested JSON and named pipes give typed errors."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from app.keyengine.wallets.kdf import COST_MULTIPLE
from app.keyengine.wallets.keystore import (
    CorruptKeystore,
    KdfTooCostly,
    KeystoreError,
    KeystoreSigner,
)
from tests.support.hostile import run_cli
from tests.support.paths import REPO_ROOT

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
PASSWORD = "hostile files"


def _keystore(path: Path, **kdfparams: int) -> dict[str, Any]:
    """A real (cheap) scrypt keystore whose KDF parameters are then overwritten."""
    document: dict[str, Any] = Account.encrypt(KEY, PASSWORD, kdf="scrypt", iterations=2**4)
    document["crypto"]["kdfparams"].update(kdfparams)
    path.write_text(json.dumps(document))
    return document


def _password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


# --- cost ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "kdfparams",
    [
        {"n": 2, "r": 65536, "p": 1},  # the finding: cheap n, a huge block size
        {"n": 2**12, "r": 8, "p": 2**20},
        {"n": 2**21, "r": 8, "p": 1},
        {"n": 2**20, "r": 8, "p": 2},
    ],
    ids=["r=65536", "p=2**20", "n=2**21", "n*p over"],
)
async def test_costly_scrypt_is_refused_before_any_work(
    tmp_path: Path, kdfparams: dict[str, int]
) -> None:
    path = tmp_path / "costly.json"
    _keystore(path, **kdfparams)
    started = time.monotonic()
    with pytest.raises(KdfTooCostly, match=f"more than {COST_MULTIPLE}× the standard cost"):
        await KeystoreSigner.unlock(path, PASSWORD)
    assert time.monotonic() - started < 1.0
    assert multiprocessing.active_children() == []  # no derivation was even started


@pytest.mark.asyncio
async def test_costly_pbkdf2_is_refused_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "pbkdf2.json"
    document: dict[str, Any] = Account.encrypt(KEY, PASSWORD, kdf="pbkdf2", iterations=1000)
    document["crypto"]["kdfparams"]["c"] = 10**9
    path.write_text(json.dumps(document))
    started = time.monotonic()
    with pytest.raises(KdfTooCostly, match="pbkdf2 with 1000000000 rounds"):
        await KeystoreSigner.unlock(path, PASSWORD)
    assert time.monotonic() - started < 1.0


def test_cli_refuses_the_scrypt_r_keystore_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "costly.json"
    _keystore(path, n=2, r=65536, p=1)
    done = run_cli(
        "generate", "--keyfile", str(path), "--password-file", str(_password_file(tmp_path))
    )
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and "4× the standard cost" in done.stderr
    assert "r=65536" in done.stderr


# --- cancel -------------------------------------------------------------------------------------

ALLOWED_BUT_SLOW = {"n": 2**18, "r": 8, "p": 4}
"""Exactly the allowed maximum of work (4× geth's standard): several seconds of scrypt."""


@pytest.mark.asyncio
async def test_an_unlock_is_cancelled_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "slow.json"
    _keystore(path, **ALLOWED_BUT_SLOW)
    unlock = asyncio.create_task(KeystoreSigner.unlock(path, PASSWORD))
    await asyncio.sleep(0.8)
    assert not unlock.done()
    assert len(multiprocessing.active_children()) == 1  # the derivation is running
    started = time.monotonic()
    unlock.cancel()
    with pytest.raises(asyncio.CancelledError):
        await unlock
    assert time.monotonic() - started < 1.0
    assert multiprocessing.active_children() == []


def test_ctrl_c_stops_a_cli_unlock_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "slow.json"
    _keystore(path, **ALLOWED_BUT_SLOW)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    argv = ["generate", "--keyfile", str(path), "--password-file", str(_password_file(tmp_path))]
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", *argv],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2.5)  # start-up, then well into the several-second derivation
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = process.communicate(timeout=10)
        stopped = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 130
    assert stopped < 1.0
    assert err.strip().splitlines()[-1] == "xmtp-keys: error: interrupted"


# --- nested JSON --------------------------------------------------------------------------------

NESTED = "[" * 30_000 + "]" * 30_000
"""Under the 64 KiB keystore ceiling, far over Python's recursion limit."""


@pytest.mark.asyncio
async def test_nested_json_keystore_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "nested.json"
    path.write_text(NESTED)
    with pytest.raises(CorruptKeystore, match="not a keystore file"):
        await KeystoreSigner.unlock(path, PASSWORD)
    done = run_cli(
        "generate", "--keyfile", str(path), "--password-file", str(_password_file(tmp_path))
    )
    assert done.code == 2 and "internal error" not in done.stderr
    assert "nested too deeply" in done.stderr  # the default recursion limit, as users have it


def test_nested_json_journal_is_a_typed_error(tmp_path: Path) -> None:
    key_file = tmp_path / "wallet.hex"
    key_file.write_text("cd" * 32)
    address = (
        "0x"
        + __import__("app.keyengine.wallets", fromlist=["RawKeySigner"])
        .RawKeySigner(bytes.fromhex("cd" * 32))
        .address[2:]
    )
    journal = tmp_path / "data" / "journal" / f"{address}.json"
    journal.parent.mkdir(parents=True)
    journal.write_text('{"wallet": ' + NESTED + "}")
    done = run_cli(
        "--node",
        "http://127.0.0.1:9",
        "--data-dir",
        str(tmp_path / "data"),
        "login",
        "--wallet-key-file",
        str(key_file),
    )
    assert done.code == 2, done.stderr
    assert "journal" in done.stderr and "nested too deeply" in done.stderr
    assert "internal error" not in done.stderr


# --- named pipes --------------------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.mark.asyncio
async def test_a_named_pipe_keystore_is_refused_without_blocking(fifo: Path) -> None:
    with pytest.raises(KeystoreError, match="not a regular file"):
        await asyncio.wait_for(KeystoreSigner.unlock(fifo, PASSWORD), 5)


def test_named_pipes_as_any_cli_input_file_are_refused(tmp_path: Path, fifo: Path) -> None:
    key_file = tmp_path / "wallet.hex"
    key_file.write_text("cd" * 32)
    keystore = tmp_path / "key.json"
    _keystore(keystore)
    common = ["--data-dir", str(tmp_path / "data"), "--node", "http://127.0.0.1:9"]
    cases = [
        ("inspect", str(fifo)),
        ("generate", "--wallet-key-file", str(fifo)),
        ("decrypt-bundle", "--wallet-key-file", str(key_file), str(fifo)),
        ("generate", "--keyfile", str(fifo), "--password-file", str(key_file)),
        ("generate", "--keyfile", str(keystore), "--password-file", str(fifo)),
        (*common, "import", "--wallet-key-file", str(key_file), str(fifo)),
    ]
    for argv in cases:
        done = run_cli(*argv, timeout=15)
        assert done.code == 2, (argv, done.stderr)
        assert "not a regular file (a named pipe)" in done.stderr, (argv, done.stderr)
        assert done.seconds < 10
