"""A node in its own process (``python -m app.xmtpnode``), as an operator runs it.

Used by the multi-process and operations tests, the hostile suite and the benchmarks.  The
first stdout line is ``listening on <url>``, which gives the port when 0 was asked for.  With
a ``log_path`` its stderr goes to that file (a test can measure how much it logged); with an
``fd_limit`` it runs under that descriptor limit; ``rss_bytes`` and ``open_descriptors`` read
``/proc``.
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
from typing import IO

from tests.support.paths import REPO_ROOT

START_TIMEOUT_S = 30.0


class NodeProcess:
    """``with NodeProcess(db) as node: use(node.url)``; ``kill()`` for a SIGKILL."""

    def __init__(
        self,
        db: str,
        *args: str,
        log_path: Path | None = None,
        fd_limit: int | None = None,
    ) -> None:
        self.db = db
        self.args = args
        self.log_path = log_path
        self.fd_limit = fd_limit
        self.proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self.url = ""

    @classmethod
    def in_dir(cls, directory: Path, *args: str, fd_limit: int | None = None) -> NodeProcess:
        """A node over ``directory/node.sqlite3`` logging to ``directory/node.log``."""
        return cls(
            str(directory / "node.sqlite3"),
            *args,
            log_path=directory / "node.log",
            fd_limit=fd_limit,
        )

    def start(self) -> str:
        limit = self.fd_limit

        def limit_descriptors() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        if self.log_path is not None:
            self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.xmtpnode", "--port", "0", "--db", self.db, *self.args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log if self._log is not None else subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)},
            preexec_fn=limit_descriptors,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else ""
        match = re.fullmatch(r"listening on (http://\S+)\n", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the node did not start: {line!r} {self.log_text()}")
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
        if self._log is None or self.log_path is None:
            return 0
        self._log.flush()
        return self.log_path.stat().st_size

    def log_text(self) -> str:
        if self._log is None or self.log_path is None:
            return ""
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

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        """Stop the node (SIGTERM, SIGKILL after 20 s); its exit status."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
        return None if proc is None else proc.returncode

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
