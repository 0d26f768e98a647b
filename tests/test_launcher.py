"""The single entry point: dispatch to the CLI, the self-test, and the no-display message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.launcher import main

REPO = Path(__file__).resolve().parent.parent


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.launcher", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_keys_dispatches_to_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "--help"]) == 0
    assert "inspect" in capsys.readouterr().out


def test_self_test_passes_from_source_and_prints_no_secret(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    result = launch("--self-test", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    [summary] = [line for line in result.stdout.splitlines() if line.startswith("self-test")]
    assert summary.startswith("self-test ok: node, keystore, generate, rotate, retrieve, lookup")
    assert "window" in summary
    # Only addresses may appear, never a 64-hex-digit secret.
    assert not any(len(word) >= 64 for word in result.stdout.split())


def test_missing_display_is_a_plain_message(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = launch(env=env)
    assert result.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in result.stderr
    assert "keys --help" in result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr


def test_version() -> None:
    result = launch("--version")
    assert result.returncode == 0 and result.stdout.startswith("xmtp-companion ")
