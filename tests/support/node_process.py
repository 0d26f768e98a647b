"""A node in its own process (``python -m app.xmtpnode``), as an operator runs it.

Used by the multi-process tests and the benchmarks: the first stdout line is
``listening on <url>``, which gives the port when 0 was asked for.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class NodeProcess:
    """``with NodeProcess(db) as node: use(node.url)``; ``kill()`` for a SIGKILL."""

    def __init__(self, db: str, *extra_args: str) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.xmtpnode", "--port", "0", "--db", db, *extra_args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)},
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the node did not start (first line {line!r})")
        self.url = line.strip().removeprefix("listening on ")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
