"""The real xmtp-js 13.0.4 ``Client`` and ``xmtp-keys`` sharing our node over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.interop.jsdriver import XmtpJs
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.interop


@pytest.fixture(params=["sqlite", "postgresql"])
def node_db(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Our node over a SQLite file, and over a fresh database of a real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "node.sqlite3")
    return str(request.getfixturevalue("postgres_server").new_database())


def keys_cli(node: str, data_dir: Path, *args: str, wallet_key: str | None = None) -> Any:
    """Run ``xmtp-keys --json`` against ``node``; return the final JSON line."""
    argv = [sys.executable, "-m", "app.cli", "--node", node, "--data-dir", str(data_dir), "--json"]
    argv += list(args)
    if wallet_key is not None:
        key_file = data_dir.parent / f"{wallet_key[:8]}.hex"
        key_file.write_text(wallet_key)
        argv += ["--wallet-key-file", str(key_file)]
    result = subprocess.run(
        argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert all("event" in line for line in lines[:-1])
    return lines[-1]


def test_identity_created_by_xmtpjs_is_retrieved(js: XmtpJs, node_url: str, tmp_path: Path) -> None:
    key = "c1" * 32
    created = js.call("client_create", wallet_key=key, api_url=node_url)
    assert created["new_identity"] is True
    js.call("client_close", wallet_key=key)
    ours = keys_cli(node_url, tmp_path / "d", "login", wallet_key=key)
    assert ours["source"] == "retrieved"
    assert ours["wallet_address"] == created["wallet_address"]
    assert ours["identity_key"] == created["identity_key"]
    assert ours["prekey"] == created["prekey"]
    assert [t["purpose"] for t in ours["signed_texts"]] == ["enable_identity"]


def test_identity_created_by_us_loads_in_xmtpjs(js: XmtpJs, node_url: str, tmp_path: Path) -> None:
    key = "c2" * 32
    ours = keys_cli(node_url, tmp_path / "d", "login", wallet_key=key)
    assert ours["source"] == "generated"
    loaded = js.call("client_create", wallet_key=key, api_url=node_url)
    assert loaded["new_identity"] is False
    assert loaded["wallet_signatures"] == 1
    assert loaded["identity_key"] == ours["identity_key"]
    assert loaded["prekey"] == ours["prekey"]
    js.call("client_close", wallet_key=key)


def test_lookups_validate_each_other(js: XmtpJs, node_url: str, tmp_path: Path) -> None:
    js_key, our_key = "c3" * 32, "c4" * 32
    theirs = js.call("client_create", wallet_key=js_key, api_url=node_url)
    ours = keys_cli(node_url, tmp_path / "d", "login", wallet_key=our_key)
    seen_by_js = js.call("client_lookup", wallet_key=js_key, peer_address=ours["wallet_address"])
    assert seen_by_js["wallet_address"] == ours["wallet_address"]
    assert seen_by_js["identity_key"] == ours["identity_key"]
    assert seen_by_js["prekey_valid"] is True
    assert js.call("client_can_message", wallet_key=js_key, peer_address=ours["wallet_address"])[
        "can_message"
    ]
    seen_by_us = keys_cli(node_url, tmp_path / "d", "lookup", theirs["wallet_address"])
    assert seen_by_us["valid"] is True and seen_by_us["errors"] == []
    assert seen_by_us["identity_key"] == theirs["identity_key"]
    assert seen_by_us["prekey"] == theirs["prekey"]
    js.call("client_close", wallet_key=js_key)


def test_invitation_survives_rotation_and_new_prekey_is_used(
    js: XmtpJs, node_url: str, tmp_path: Path
) -> None:
    js_key, our_key = "c5" * 32, "c6" * 32
    data = tmp_path / "d"
    theirs = js.call("client_create", wallet_key=js_key, api_url=node_url)
    ours = keys_cli(node_url, data, "login", wallet_key=our_key)
    first = js.call(
        "client_new_conversation",
        wallet_key=js_key,
        peer_address=ours["wallet_address"],
        conversation_id="before-rotation",
    )
    [invite] = keys_cli(node_url, data, "invites", wallet_key=our_key)
    assert invite["peer_address"] == theirs["wallet_address"]
    assert invite["topic"] == first["topic"]
    assert invite["prekey"] == ours["prekey"]

    rotated = keys_cli(node_url, data, "rotate-prekey", wallet_key=our_key)
    rotated = keys_cli(node_url, data, "rotate-prekey", wallet_key=our_key)
    assert len(rotated["prekeys"]) == 3
    assert rotated["prekeys"][-1]["public_key"] == ours["prekey"]
    new_prekey = rotated["prekey"]
    assert new_prekey != ours["prekey"]

    # A fresh xmtp-js session (its contact cache empty) looks our keys up again.
    js.call("client_close", wallet_key=js_key)
    js.call("client_create", wallet_key=js_key, api_url=node_url)
    second = js.call(
        "client_new_conversation",
        wallet_key=js_key,
        peer_address=ours["wallet_address"],
        conversation_id="after-rotation",
    )
    invites = {i["topic"]: i for i in keys_cli(node_url, data, "invites", wallet_key=our_key)}
    assert invites[first["topic"]]["prekey"] == ours["prekey"]
    assert invites[second["topic"]]["prekey"] == new_prekey
    # xmtp-js, reloading our identity from the network, sees the rotated keys.
    js.call("client_close", wallet_key=js_key)
    reloaded = js.call("client_create", wallet_key=our_key, api_url=node_url)
    assert reloaded["new_identity"] is False
    assert reloaded["prekey"] == new_prekey
    conversations = js.call("client_list_conversations", wallet_key=our_key)["conversations"]
    assert {c["topic"] for c in conversations} >= {first["topic"], second["topic"]}
    js.call("client_close", wallet_key=our_key)
