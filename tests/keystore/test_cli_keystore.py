"""``xmtp-keys keystore``: tokens from the command line and a real ``serve`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.keyengine.proto import public_key_pb2
from app.xmtpnode.embedded import EmbeddedNode

REPO = Path(__file__).resolve().parents[2]


def keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), *args]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_allow_apps_revoke(tmp_path: Path) -> None:
    made = keys(tmp_path, "keystore", "allow", "bob-app")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("xks_") and "\n" not in token
    as_json = json.loads(
        keys(tmp_path, "keystore", "allow", "other", "--allow-export", "--json").stdout
    )
    assert as_json["app"] == "other" and as_json["token"].startswith("xks_")
    again = keys(tmp_path, "keystore", "allow", "bob-app")
    assert again.returncode != 0 and "already has a token" in again.stderr
    listed = json.loads(keys(tmp_path, "--json", "keystore", "apps").stdout)
    assert {(a["app"], a["allow_export"], a["revoked"]) for a in listed} == {
        ("bob-app", False, None),
        ("other", True, None),
    }
    apps_file = tmp_path / "keystore" / "apps.json"
    assert token not in apps_file.read_text() and apps_file.stat().st_mode & 0o777 == 0o600
    assert keys(tmp_path, "keystore", "revoke", "bob-app").returncode == 0
    listed = json.loads(keys(tmp_path, "--json", "keystore", "apps").stdout)
    assert next(a for a in listed if a["app"] == "bob-app")["revoked"] is not None
    assert keys(tmp_path, "keystore", "revoke", "nobody").returncode != 0


@pytest.fixture
def node(tmp_path: Path) -> Iterator[str]:
    with EmbeddedNode(db_path=tmp_path / "node.sqlite3") as running:
        assert running.url is not None
        yield running.url


def test_serve_answers_apps_and_refuses_a_revoked_one(tmp_path: Path, node: str) -> None:
    data = tmp_path / "d"
    token = keys(data, "keystore", "allow", "bob-app").stdout.strip()
    key_file = tmp_path / "wallet.hex"
    key_file.write_text("5a" * 32)
    argv = [sys.executable, "-m", "app.cli", "--node", node, "--data-dir", str(data)]
    argv += ["keystore", "serve", "--port", "0", "--wallet-key-file", str(key_file)]
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("keystore listening on http://127.0.0.1:"), (
            proc.stderr.read() if proc.poll() is not None and proc.stderr else first
        )
        url = first.rsplit(" ", 1)[1]

        def call(method: str) -> tuple[int, bytes]:
            request = urllib.request.Request(  # noqa: S310 - our loopback URL
                f"{url}/keystore/v1/{method}",
                data=b"",
                headers={"Authorization": f"Bearer {token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
                    return reply.status, reply.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        status, body = call("getPublicKeyBundle")
        assert status == 200 and public_key_pb2.PublicKeyBundle.FromString(body).HasField("pre_key")
        assert keys(data, "keystore", "revoke", "bob-app").returncode == 0
        status, body = call("getPublicKeyBundle")
        assert status == 401 and json.loads(body)["code"] == "unauthorized"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
