"""``xmtp-keys`` online commands in-process against a real embedded node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from app.xmtpnode.embedded import EmbeddedNode


@pytest.fixture
def node(tmp_path: Path) -> Iterator[str]:
    with EmbeddedNode(db_path=tmp_path / "node.sqlite3") as running:
        assert running.url is not None
        yield running.url


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.hex"
    path.write_text("0x" + "9c" * 32 + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_login_rotate_prekeys_export_import(
    capsys: pytest.CaptureFixture[str], node: str, key_file: Path, tmp_path: Path
) -> None:
    common = ["--node", node, "--data-dir", str(tmp_path / "data"), "--json"]
    wallet = ["--wallet-key-file", str(key_file)]
    code, lines, _ = run(capsys, *common, "login", *wallet)
    assert code == 0
    events, first = lines[:-1], lines[-1]
    assert [e["purpose"] for e in events if e["event"] == "sign_request"] == [
        "create_identity",
        "enable_identity",
    ]
    assert first["source"] == "generated"

    code, lines, _ = run(capsys, *common, "rotate-prekey", *wallet)
    assert code == 0 and len(lines[-1]["prekeys"]) == 2

    code, lines, _ = run(capsys, *common, "prekeys", *wallet)
    listed = lines[-1]
    assert listed["source"] == "retrieved"
    assert [p["public_key"] for p in listed["prekeys"]][-1] == first["prekey"]
    created = [p["created_ns"] for p in listed["prekeys"]]
    assert created == sorted(created, reverse=True)

    backup = tmp_path / "backup.bin"
    code, lines, _ = run(capsys, *common, "export", *wallet, "--out", str(backup))
    assert code == 0 and backup.stat().st_mode & 0o777 == 0o600
    code, _, err = run(capsys, *common, "export", *wallet, "--out", str(backup))
    assert code == 2 and "already exists" in err

    # Restore the backup onto a brand-new node from a fresh machine.
    with EmbeddedNode(db_path=tmp_path / "other.sqlite3") as other:
        assert other.url is not None
        fresh = ["--node", other.url, "--data-dir", str(tmp_path / "fresh"), "--json"]
        code, lines, _ = run(capsys, *fresh, "import", *wallet, str(backup))
        assert code == 0 and lines[-1]["prekeys"] == listed["prekeys"]
        code, lines, _ = run(capsys, *fresh, "lookup", listed["wallet_address"])
        assert lines[-1]["valid"] is True and lines[-1]["prekey"] == listed["prekey"]


def test_lookup_unknown_and_bad_addresses(
    capsys: pytest.CaptureFixture[str], node: str, tmp_path: Path
) -> None:
    common = ["--node", node, "--data-dir", str(tmp_path), "--json"]
    code, lines, _ = run(capsys, *common, "lookup", "0x" + "12" * 20)
    assert code == 0 and lines[-1]["valid"] is False
    assert lines[-1]["errors"] == ["no contact published"]
    code, _, err = run(capsys, *common, "lookup", "0x1234")
    assert code == 2 and err.count("\n") == 1 and "not an Ethereum address" in err


def test_dead_node_is_one_line(
    capsys: pytest.CaptureFixture[str], key_file: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys,
        "--node",
        "http://127.0.0.1:9",
        "--data-dir",
        str(tmp_path),
        "--json",
        "login",
        "--wallet-key-file",
        str(key_file),
    )
    assert code == 3  # node unreachable
    assert err.strip().startswith("xmtp-keys: error: cannot reach the XMTP node")
    assert "Traceback" not in err
