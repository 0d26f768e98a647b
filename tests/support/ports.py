"""Loopback ports for tests: one that is free now (a server is about to bind it), which is
also one nothing listens on (a client is about to be refused)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
