"""The listening socket and the connections it accepted: start, and a graceful stop."""

from __future__ import annotations

import asyncio
import socket
from typing import Final

from app.xmtpnode.http.connection import ConnectionHost, ConnectionWatcher, HttpConnection

_BACKLOG: Final = 4096
"""Pending connections the kernel queues for us (clamped to net.core.somaxconn): a burst of
connects must not overflow it, or a real client's SYN is dropped and waits a second."""
_ACCEPT_BATCH: Final = 32
"""Connections asyncio accepts per loop iteration.  Closing an evicted connection frees its
descriptor only on the next iteration, so this many may exist beyond a connection cap."""


class HttpListener:
    """``await start()`` → bound port; ``stop_accepting()``, then ``await close(timeout)``."""

    def __init__(
        self, host: ConnectionHost, watcher: ConnectionWatcher, address: str, port: int
    ) -> None:
        self.host = host
        self.watcher = watcher
        self.address = address
        self.port = port
        self.connections: set[HttpConnection] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        sock = _listening_socket(self.address, self.port)
        try:
            self._server = await loop.create_server(
                lambda: self._connection(loop), sock=sock, backlog=_ACCEPT_BATCH
            )
            sock.listen(_BACKLOG)  # asyncio listened with the batch size; widen the queue again
        except BaseException:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        return self.port

    def _connection(self, loop: asyncio.AbstractEventLoop) -> HttpConnection:
        connection = HttpConnection(self.host, self.watcher, loop)
        self.connections.add(connection)
        connection.closed.add_done_callback(lambda _: self.connections.discard(connection))
        return connection

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def close(self, timeout_s: float) -> None:
        """Let requests in progress finish (up to ``timeout_s``), close idle connections at
        once, and abort whatever is still open at the end."""
        self.stop_accepting()
        for connection in list(self.connections):
            connection.close_when_idle()
        waiting = [connection.closed for connection in self.connections]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout_s)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        if self._server is not None:
            server, self._server = self._server, None
            await server.wait_closed()


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
