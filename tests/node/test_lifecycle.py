"""Starting and stopping nodes: persistence, ``python -m app.xmtpnode``, the embedded node,
file permissions, on both backends."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

from app.keyengine.files import make_private_dir
from app.xmtpnode import EmbeddedNode, serve
from app.xmtpnode.storage import open_storage
from tests.support.message_api import envelope_json, publish, stored
from tests.support.paths import REPO_ROOT

T0 = 1_700_000_000_000_000_000
TOPIC = "/xmtp/0/m-" + "e" * 64 + "/proto"


@pytest.mark.asyncio
async def test_data_survives_a_restart(
    db_spec: str, backend: str, http: aiohttp.ClientSession, alice_token: str
) -> None:
    db_path = db_spec
    sent = [envelope_json(TOPIC, T0 + i, b"%d" % i) for i in range(3)]
    async with serve(port=0, db_path=db_path) as url:
        assert (await publish(http, url, alice_token, *sent)).status == 200
    async with serve(port=0, db_path=db_path) as url:
        assert await stored(http, url, TOPIC) == sent[::-1]
        # Still de-duplicates against what the previous run stored.
        assert (await publish(http, url, alice_token, sent[0])).status == 200
        assert len(await stored(http, url, TOPIC)) == 3
    if backend == "sqlite":
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.asyncio
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_module_entry_point(
    db_spec: str, http: aiohttp.ClientSession, alice_token: str, signum: signal.Signals
) -> None:
    db_path = db_spec
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.xmtpnode",
        "--port",
        "0",
        "--db",
        str(db_path),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", first)
        assert match, first
        url = match.group(1)
        assert int(match.group(2)) > 0
        assert (
            await publish(http, url, alice_token, envelope_json(TOPIC, T0, b"hi"))
        ).status == 200
        assert await stored(http, url, TOPIC) == [envelope_json(TOPIC, T0, b"hi")]
        proc.send_signal(signum)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # The process closed its storage: the store opens cleanly and holds the envelope.
    with open_storage(db_path) as storage:
        assert storage.count() == 1


@pytest.mark.asyncio
async def test_embedded_node(db_spec: str, http: aiohttp.ClientSession, alice_token: str) -> None:
    db_path = db_spec
    with EmbeddedNode(db_path=db_path) as node:
        assert node.running
        assert node.url is not None
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", node.url)
        reply = await publish(http, node.url, alice_token, envelope_json(TOPIC, T0, b"x"))
        assert reply.status == 200
    assert not node.running
    node.stop()  # idempotent

    restarted = EmbeddedNode(db_path=db_path)
    url = restarted.start()
    try:
        assert await stored(http, url, TOPIC) == [envelope_json(TOPIC, T0, b"x")]
        with pytest.raises(RuntimeError):
            restarted.start()
    finally:
        restarted.stop()


def test_embedded_node_reports_bind_errors(tmp_path: Path) -> None:
    with EmbeddedNode(db_path=tmp_path / "a.sqlite3") as first:
        assert first.url is not None
        port = int(first.url.rsplit(":", 1)[1])
        second = EmbeddedNode(port=port, db_path=tmp_path / "b.sqlite3")
        with pytest.raises(OSError):
            second.start()
        assert not second.running


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.asyncio
@pytest.mark.parametrize("command", [["-m", "app.xmtpnode"], ["-m", "app.cli", "node", "serve"]])
async def test_serve_creates_a_private_database(
    tmp_path: Path, http: aiohttp.ClientSession, alice_token: str, command: list[str]
) -> None:
    db_path = tmp_path / "fresh" / "dir" / "node.sqlite3"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        "--port",
        "0",
        "--db",
        str(db_path),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split()[-1]
        reply = await publish(http, url, alice_token, envelope_json(TOPIC, T0, b"x"))
        assert reply.status == 200
        assert _mode(db_path.parent) == 0o700
        files = [
            db_path,
            db_path.with_name("node.sqlite3-wal"),
            db_path.with_name("node.sqlite3-shm"),
        ]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        proc.terminate()
        await proc.wait()


def test_existing_database_is_tightened(tmp_path: Path) -> None:
    db_path = tmp_path / "loose.sqlite3"
    db_path.touch(mode=0o644)
    db_path.chmod(0o644)
    with EmbeddedNode(db_path=db_path):
        assert _mode(db_path) == 0o600


def test_data_dirs_are_made_private(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    make_private_dir(loose)
    make_private_dir(tmp_path / "new" / "data")
    assert (_mode(loose), _mode(tmp_path / "new" / "data")) == (0o700, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: not ours to tighten
    make_private_dir(shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777
