"""``xmtp-keys keystore``: tokens from the command line and a real ``serve`` process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.keystore_cmd import VaultBundle
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import public_key_pb2
from app.keyengine.vault import MemoryStore, Vault
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


def test_serve_follows_a_rotation_saved_to_the_keyring(bob_bundle: PrivateKeyBundleV1) -> None:
    """The CLI's bundle provider: a rotation another process saved is served within a second."""
    vault = Vault(Path("/nonexistent"), MemoryStore())
    keys = VaultBundle(vault, bob_bundle)
    rotated = rotate_pre_key(bob_bundle)

    async def scenario() -> PrivateKeyBundleV1:
        follower = asyncio.ensure_future(keys.follow(interval_s=0.05))
        vault.save_bundle(rotated)  # as `xmtp-keys rotate-prekey` does
        await asyncio.sleep(0.3)
        follower.cancel()
        return keys()

    served = asyncio.run(scenario())
    assert served.current_pre_key == rotated.current_pre_key
    assert len(served.pre_keys) == 2


def test_serve_without_wallet_needs_remembered_keys(tmp_path: Path) -> None:
    env_off = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    argv = [sys.executable, "-m", "app.cli", "--data-dir", str(tmp_path), "keystore", "serve"]
    for extra in ([], ["--address", "0x" + "ab" * 20]):
        result = subprocess.run(
            argv + extra,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, **env_off},
        )
        assert result.returncode != 0
        assert "wallet option" in result.stderr
