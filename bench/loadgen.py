"""A lean HTTP/1.1 keep-alive load generator for the node benchmarks.

A general-purpose client (aiohttp) spends more CPU per request than the node does, and on a
two-core machine the client would then be what is measured.  Each simulated client here holds
one keep-alive connection and writes pre-formatted requests; it reads the status line, the
headers up to ``Content-Length`` and the body, nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit


class Connection:
    """One keep-alive connection to ``url``'s host and port."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, f"{parts.hostname}:{parts.port}")

    async def post(self, path: str, body: bytes, headers: str = "") -> tuple[int, bytes]:
        """POST ``body``; return the status and the response body."""
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


async def run_clients(
    urls: list[str],
    clients: int,
    seconds: float,
    make_request: Callable[[int, int], tuple[str, bytes, str]],
) -> tuple[list[float], float]:
    """``clients`` connections (spread over ``urls``) sending ``make_request(client, n)`` =
    (path, body, extra header lines) back to back for ``seconds``; latencies and elapsed time."""
    connections = [await Connection.open(urls[i % len(urls)]) for i in range(clients)]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        connection = connections[index]
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            path, body, headers = make_request(index, n)
            start = time.perf_counter()
            status, answer = await connection.post(path, body, headers)
            if status != 200:
                raise AssertionError(f"{path} answered {status}: {answer[:200]!r}")
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
    finally:
        for connection in connections:
            connection.close()
    return latencies, time.perf_counter() - started
