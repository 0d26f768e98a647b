"""A real PostgreSQL server for tests and benchmarks (Debian's ``postgresql`` package).

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser``) in a temporary directory that user owns; otherwise as the current user.  It
listens on 127.0.0.1 on a free port, with its unix socket in that directory, and is removed
with the directory afterwards.  ``new_database()`` gives each test its own empty database.

``postgres_server`` is the session fixture; ``tests/conftest.py`` makes it visible everywhere.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.ports import free_port

START_TIMEOUT_S = 60.0


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found is None:
        raise RuntimeError("PostgreSQL is not installed: run `make test` (apt: postgresql)")
    return Path(found).resolve().parent


class PostgresServer:
    """``with PostgresServer() as server: url = server.new_database()``."""

    def __init__(self, *, durable: bool = False) -> None:
        """``durable`` keeps fsync on (benchmarks); tests run without it, for speed."""
        self.durable = durable
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="xmtp-pg-"))
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        bindir = _bin_dir()
        data = self.root / "data"
        subprocess.run(
            [
                *self._as_user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        self.run()

    def run(self) -> None:
        """Start the server on the existing data directory (after ``start`` and ``halt``)."""
        bindir = _bin_dir()
        data = self.root / "data"
        settings = [
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.root}",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=64MB",
        ]
        if not self.durable:
            settings += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        with open(self.root / "server.log", "ab") as log_file:
            self._proc = subprocess.Popen(
                [*self._as_user, str(bindir / "postgres"), "-D", str(data), *settings],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "server.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.1)

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server (fast shutdown), keeping its data for ``run``."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # The postmaster itself (runuser may not forward signals): SIGINT = fast shutdown.
            with contextlib.suppress(OSError, ValueError):
                pid_file = self.root / "data" / "postmaster.pid"
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    with PostgresServer(durable=durable) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, started on first use."""
    with running_server() as server:
        yield server
