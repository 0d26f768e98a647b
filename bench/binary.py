"""Binary size and start-up time to an interactive window, binary beside source."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BINARY = REPO / "dist" / "xmtp-companion"


def _startup_ms(argv: list[str], runs: int = 3) -> float:
    samples = []
    for _ in range(runs):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XMTP_STARTUP_T0": str(time.time())}
        out = subprocess.run(
            [*argv, "--measure-startup"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return statistics.median(samples)


def measure() -> dict[str, float | str]:
    result: dict[str, float | str] = {
        "source_startup_ms": _startup_ms([sys.executable, "-m", "app.launcher"]),
    }
    if BINARY.exists():
        result["binary_size_mib"] = BINARY.stat().st_size / 2**20
        result["binary_startup_ms"] = _startup_ms([str(BINARY)])
    else:
        result["binary"] = "not built (run make dist)"
    return result


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
