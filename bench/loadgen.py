"""A lean HTTP/1.1 keep-alive load generator for the node benchmarks.

A general-purpose client (aiohttp) spends more CPU per request than the node does, and on a
two-core machine the client would then be what is measured.  Each simulated client here is
one keep-alive connection driven by protocol callbacks (no stream reader, no task): it writes
a pre-formatted request, reads the status line, the headers up to ``Content-Length`` and the
body, records the latency, and sends the next request from the same callback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

MakeRequest = Callable[[int, int], tuple[str, bytes, str]]


class _Client(asyncio.Protocol):
    """One connection sending requests back to back until the deadline."""

    def __init__(
        self,
        index: int,
        host: str,
        make_request: MakeRequest,
        deadline: float,
        latencies: list[float],
        done: asyncio.Future[None],
    ) -> None:
        self.index, self.host, self.make_request = index, host, make_request
        self.deadline, self.latencies, self.done = deadline, latencies, done
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.sent = 0
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.deadline:
            self._finish(None)
            return
        self.sent += 1
        path, body, headers = self.make_request(self.index, self.sent)
        self.started = time.perf_counter()
        self.transport.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n".encode()
            + body
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = 0
        for line in self.buffer[:end].split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        answer = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        if status != 200:
            self._finish(AssertionError(f"answered {status}: {answer[:200]!r}"))
            return
        self.latencies.append(time.perf_counter() - self.started)
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(ConnectionError(f"connection lost: {exc}"))

    def _finish(self, failure: BaseException | None) -> None:
        if self.done.done():
            return
        if failure is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(failure)


async def run_clients(
    urls: list[str],
    clients: int,
    seconds: float,
    make_request: MakeRequest,
) -> tuple[list[float], float]:
    """``clients`` connections (spread over ``urls``) sending ``make_request(client, n)`` =
    (path, body, extra header lines) back to back for ``seconds``; latencies and elapsed time."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    deadline = time.perf_counter() + 3600.0  # set for real once every connection is open
    protocols: list[_Client] = []
    for index in range(clients):
        parts = urlsplit(urls[index % len(urls)])
        assert parts.hostname is not None and parts.port is not None
        host = f"{parts.hostname}:{parts.port}"
        done: asyncio.Future[None] = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda i=index, h=host, d=done: _Client(i, h, make_request, deadline, latencies, d),
            parts.hostname,
            parts.port,
        )
        protocols.append(protocol)
    started = time.perf_counter()
    for protocol in protocols:
        protocol.deadline = started + seconds
        protocol.send()
    try:
        await asyncio.gather(*(protocol.done for protocol in protocols))
    finally:
        for protocol in protocols:
            if protocol.transport is not None:
                protocol.transport.close()
    return latencies, time.perf_counter() - started
