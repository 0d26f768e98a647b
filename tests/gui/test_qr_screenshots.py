"""The WalletConnect code, from a screenshot of the real window under Xvfb, reads back exactly.

``make screenshots`` renders the pairing screen at the default and at the minimum window size;
this test runs the same renderer under a real X server (``xvfb-run``), then a standard decoder
(zbar's ``zbarimg``) reads each picture and must get exactly the pairing URI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from app.companion.screenshots import SAMPLE_PAIRING_URI
from tests.support.paths import REPO_ROOT


def test_pairing_qr_decodes_at_default_and_minimum_size(tmp_path: Path) -> None:
    assert shutil.which("xvfb-run") and shutil.which("zbarimg"), (
        "install xvfb and zbar-tools (make unit does it with apt-get)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env |= {"PYTHONPATH": str(REPO_ROOT), "HOME": str(tmp_path)}
    rendered = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1400x900x24",
            sys.executable,
            "-m",
            "app.companion.screenshots",
            "--only",
            "walletconnect",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert "platform xcb" in rendered.stdout  # a real window on an X server, not offscreen
    for name in ("walletconnect-qr.png", "walletconnect-qr-min.png"):
        picture = tmp_path / name
        assert picture.is_file(), rendered.stdout
        decoded = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(picture)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert decoded.returncode == 0, f"{name}: zbar found no code ({decoded.stderr})"
        assert decoded.stdout.strip().splitlines() == [SAMPLE_PAIRING_URI], name
