"""The vault against a real Secret Service (gnome-keyring in a private D-Bus session)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT


def test_bundle_lives_in_the_secret_service_and_nowhere_on_disk(
    tmp_path: Path, node_url: str
) -> None:
    assert shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon"), (
        "install dbus and gnome-keyring (make test does it with apt-get)"
    )
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            sys.executable,
            "-m",
            "tests.flows.keyring_scenario",
            node_url,
            str(tmp_path / "data"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["where"].startswith("OS keyring")
    assert seen["remembered_equal"] is True
    assert seen["pre_keys"] == 2
    assert seen["secret_on_disk"] is False
    assert seen["saving_event"] is True
