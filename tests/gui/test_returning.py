"""A returning user, a real Secret Service: the inner test runs in a private D-Bus session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT


def test_returning_user_with_keys_in_a_real_secret_service(tmp_path: Path) -> None:
    assert shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon"), (
        "install dbus and gnome-keyring (make test does it with apt-get)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO_ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "XMTP_COMPANION_IN_DBUS": "1",
    }
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:asyncio",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::pytest.PytestConfigWarning",
            "tests/gui/keyring_returning.py",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**{k: v for k, v in os.environ.items() if k == "LANG"}, **env},
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "1 passed" in result.stdout
