"""A node in its own process, as a team runs it, for tests that attack it from outside.

``NodeProcess`` starts ``python -m app.xmtpnode`` on a free loopback port (optionally under a
descriptor limit), captures its stderr in a file (so a test can measure how much it logged)
and reads its resident memory from ``/proc``.
"""

from __future__ import annotations

import os
import re
import resource
import select
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from tests.support.paths import REPO_ROOT

START_TIMEOUT_S = 30.0


class NodeProcess:
    def __init__(
        self,
        tmp_path: Path,
        *args: str,
        fd_limit: int | None = None,
        db: str | None = None,
    ) -> None:
        self.log_path = tmp_path / "node.log"
        self.db = db or str(tmp_path / "node.sqlite3")
        self.args = args
        self.fd_limit = fd_limit
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        limit = self.fd_limit

        def limit_descriptors() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.xmtpnode", "--port", "0", "--db", self.db, *self.args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limit_descriptors,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        assert ready, f"the node did not start: {self.log_text()}"
        line = self.proc.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, (line, self.log_text())
        self.url = match.group(1)
        return self.url

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_bytes(self) -> int:
        """Resident set size (VmRSS in /proc/PID/status)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
        assert match, status
        return int(match.group(1)) * 1024

    def open_descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_size(self) -> int:
        self._log.flush()
        return self.log_path.stat().st_size

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then the exit status (killed after ``timeout``: the test then fails)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

    def __enter__(self) -> NodeProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
