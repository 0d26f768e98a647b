"""Connection floods: idle sockets, slowloris, all at a 1,024-descriptor limit.

Measured before the fix: 1,097 idle connections made every request time out at a 1,024
descriptor limit, and 20,000 made the node log ``accept()`` tracebacks at 6 MB/s.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support.node_process import NodeProcess

FD_LIMIT = 1024
IDLE_CONNECTIONS = 1_100
TOPIC = "/xmtp/0/m-" + "1" * 64 + "/proto"


def _open_idle(url: str, count: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sockets.append(sock)
    return sockets


async def _timed_queries(url: str, count: int) -> list[float]:
    """Seconds each of ``count`` queries took, each on a fresh connection."""
    took = []
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(count):
            started = time.monotonic()
            async with http.post(
                url + "/message/v1/query",
                json={"contentTopics": [TOPIC]},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response:
                assert response.status == 200, await response.text()
                await response.read()
            took.append(time.monotonic() - started)
    return took


@pytest.mark.asyncio
async def test_idle_connections_leave_queries_answering(tmp_path: Path) -> None:
    with NodeProcess.in_dir(tmp_path, fd_limit=FD_LIMIT) as node:
        sockets: list[socket.socket] = []
        try:
            for _ in range(2):  # two waves: the second arrives when the caps are reached
                sockets += await asyncio.to_thread(_open_idle, node.url, IDLE_CONNECTIONS)
                took = await _timed_queries(node.url, 20)
                assert max(took) < 1.0, took
                assert node.open_descriptors() < FD_LIMIT
        finally:
            for sock in sockets:
                sock.close()
        assert node.log_size() < 1_000_000
        async with aiohttp.ClientSession() as http, http.get(node.url + "/metrics") as response:
            metrics = await response.text()
        assert 'xmtpnode_refusals_total{limit="evicted_idle"}' in metrics
        assert "out of system resource" not in node.log_text()


def _slowloris(url: str, interval_s: float, max_s: float) -> float:
    """Dribble a request head one byte at a time; seconds until the node hangs up."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /message/v1/query HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(interval_s)
        while time.monotonic() - started < max_s:
            try:
                sock.sendall(b"X")
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:  # reset by the node
                break
    return time.monotonic() - started


@pytest.mark.asyncio
async def test_slowloris_is_cut_off_at_the_header_timeout(tmp_path: Path) -> None:
    with NodeProcess.in_dir(tmp_path, "--limit", "header_timeout_s=2") as node:
        lasted = await asyncio.to_thread(_slowloris, node.url, 0.2, 15.0)
        assert 1.5 < lasted < 5.0
        # A silent connection goes the same way.
        silent = await asyncio.to_thread(_open_idle, node.url, 1)
        silent[0].settimeout(6)
        try:
            assert silent[0].recv(1) == b""
        except ConnectionResetError:
            pass
        finally:
            silent[0].close()
        took = await _timed_queries(node.url, 1)
        assert took[0] < 1.0
