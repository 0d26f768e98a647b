"""One client connection: HTTP/1.1 parsed by httptools (llhttp, Node.js's parser), keep-alive.

A request's handler starts as soon as its head has arrived (so a refused client costs no
body read) and reads the body when it wants it.  Requests a client pipelines behind one in
progress wait their turn, and answers go out in order.  Everything the node decides about a
connection (admission, head and idle timeouts, eviction) is its watcher's: the connection
tells it each transition.  Heads are bounded (line length, field count, total size) before
httptools buffers them; a malformed request is answered by the host and the connection
closed, as a request whose body was not read to the end is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Final, Protocol

import httptools

from app.xmtpnode.http.messages import (
    ClientGone,
    HttpRefusal,
    Request,
    Response,
    StreamResponse,
    wake,
)

MAX_HEAD_LINE: Final = 8190
"""Longest request line or header field (aiohttp's and nginx's default ceiling)."""
MAX_HEAD_FIELDS: Final = 128
MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_QUEUED: Final = 8
"""Pipelined requests held behind the one in progress before the connection stops reading."""
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class ConnectionWatcher(Protocol):
    """Told of each transition of every connection; decides admission (and may close any)."""

    def admit(self, connection: HttpConnection) -> bool: ...
    def head_started(self, connection: HttpConnection) -> None: ...
    def request_started(self, connection: HttpConnection) -> None: ...
    def request_finished(self, connection: HttpConnection) -> None: ...
    def release(self, connection: HttpConnection) -> None: ...


class ConnectionHost(Protocol):
    """What a connection needs from the server it belongs to: answers."""

    max_body: int

    def answer(self, request: Request) -> Awaitable[Response]: ...
    def malformed(self, connection: HttpConnection, headers: dict[str, str], why: str) -> Response:
        """The answer to a request that could not be parsed (the connection closes after)."""
        ...


class _HeadTooLarge(Exception):
    pass


class HttpConnection(asyncio.Protocol):
    """asyncio protocol for one TCP connection of the node."""

    def __init__(
        self, host: ConnectionHost, watcher: ConnectionWatcher, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.host = host
        self.watcher = watcher
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.peer_address = "unknown"
        self.closed: asyncio.Future[None] = loop.create_future()
        self.closing = False
        """Answer what is in progress, then close (the server is stopping)."""
        self._parser = httptools.HttpRequestParser(self)
        self._in_head = False
        self._between_requests = False
        self._head_bytes = 0
        self._url = b""
        self._headers: dict[str, str] = {}
        self._fields = 0
        self._broken = False
        self._parsing: Request | None = None
        self._current: Request | None = None
        self._queue: deque[Request] = deque()
        self._reading_paused = False
        self._writing_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._chunked = True
        self._stream_ended = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only weak refs

    # --- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer_address = str(peer[0])
        if not self.watcher.admit(self):
            transport.abort()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._broken:
            return
        if self._between_requests:
            self._between_requests = False
            self.watcher.head_started(self)
        try:
            while data:
                if self._in_head or self._parsing is None:
                    # Feed a head no further than its ceiling: httptools buffers a field
                    # whole before handing it over.
                    room = MAX_HEAD_BYTES - self._head_bytes
                    if room <= 0:
                        raise _HeadTooLarge("request head too large")
                    piece, data = data[:room], data[room:]
                    self._head_bytes += len(piece)
                    self._parser.feed_data(piece)
                else:
                    self._parser.feed_data(data)
                    break
        except httptools.HttpParserUpgrade:
            self._malformed("protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self._malformed(str(cause if isinstance(cause, _HeadTooLarge) else exc))
        except _HeadTooLarge as exc:
            self._malformed(str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.watcher.release(self)
        for request in (self._parsing, self._current, *self._queue):
            if request is not None:
                request.abandoned()
        self._queue.clear()
        self._wake_drain(ClientGone("the client closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drain(None)

    # --- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._between_requests = False
        self._url = b""
        self._headers = {}
        self._fields = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_HEAD_LINE:
            raise _HeadTooLarge("request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > MAX_HEAD_FIELDS:
            raise _HeadTooLarge("too many header fields")
        if len(name) + len(value) > MAX_HEAD_LINE:
            raise _HeadTooLarge("header field too long")
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        known = self._headers.get(key)
        self._headers[key] = text if known is None else f"{known}, {text}"

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        if not path.startswith("/"):  # absolute form: http://host/path
            parsed = httptools.parse_url(self._url)
            path = (parsed.path or b"/").decode("latin-1")
        request = Request(
            self,
            self._parser.get_method().decode("latin-1"),
            path,
            query,
            self._headers,
            self._parser.should_keep_alive(),
            self.host.max_body,
        )
        self._parsing = request
        if self._current is None:
            self._begin(request)
        else:
            self._queue.append(request)
            if len(self._queue) >= _MAX_QUEUED and self.transport is not None:
                self._reading_paused = True
                self.transport.pause_reading()

    def on_body(self, body: bytes) -> None:
        if self._parsing is not None:
            self._parsing.received(body)

    def on_message_complete(self) -> None:
        if self._parsing is not None:
            self._parsing.finished()
            self._parsing = None

    # --- answering -----------------------------------------------------------------------------

    def _begin(self, request: Request) -> None:
        self._current = request
        self.watcher.request_started(self)
        if (
            not request.complete
            and not request.refused
            and request.headers.get("expect", "").lower() == "100-continue"
            and self.transport is not None
        ):
            self.transport.write(_CONTINUE)
        self._task = self.loop.create_task(self._serve(request))

    async def _serve(self, request: Request) -> None:
        response = await self.host.answer(request)
        transport = self.transport
        if transport is None:
            return  # the client left meanwhile
        keep_alive = request.keep_alive and request.complete and not self.closing
        if response.started:
            keep_alive = keep_alive and self._stream_ended and self._chunked
        else:
            keep_alive = keep_alive and not response.close_connection
            body = b"" if request.method == "HEAD" else response.body
            transport.write(response.head(keep_alive, len(response.body)) + body)
        if keep_alive and self._writing_paused:
            # A client that sends requests but does not read the answers: the next request
            # waits (as pipelined ones do) until this answer has left the buffer.
            try:
                await self.drain()
            except ClientGone:
                return
            keep_alive = not self.closing
        self._current = self._task = None
        if not keep_alive:
            transport.close()
        elif self._queue:
            self._begin(self._queue.popleft())
            if self._reading_paused and len(self._queue) < _MAX_QUEUED:
                self._reading_paused = False
                transport.resume_reading()
        elif self._in_head:
            self.watcher.head_started(self)
        else:
            self.watcher.request_finished(self)
            self._between_requests = True

    def _malformed(self, why: str) -> None:
        self._broken = True
        transport = self.transport
        if transport is None:
            return
        if self._current is not None:  # answer the request in progress first, then close
            self.closing = True
            self._queue.clear()
            transport.pause_reading()
            if self._parsing is self._current:  # its own body is what could not be parsed
                self._current.abandoned(HttpRefusal(400))
            return
        response = self.host.malformed(self, self._headers, why)
        transport.write(response.head(False, len(response.body)) + response.body)
        transport.close()

    def close_when_idle(self) -> None:
        """Finish the request in progress (if any), then close: the server is stopping."""
        self.closing = True
        if self._current is None and self.transport is not None:
            self.transport.close()

    # --- streams -------------------------------------------------------------------------------

    def start_stream(self, request: Request, response: StreamResponse) -> None:
        """Send a streamed answer's head: chunked on HTTP/1.1, else until the connection ends."""
        transport = self.transport
        if transport is None:
            raise ClientGone("the client closed the connection")
        self._chunked = self._parser.get_http_version() == "1.1"
        self._stream_ended = False
        keep_alive = request.keep_alive and self._chunked and not self.closing
        if self._chunked:
            response.headers.append(("Transfer-Encoding", "chunked"))
        transport.write(response.head(keep_alive, None))

    def write_chunk(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ClientGone("the client closed the connection")
        transport.write(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)

    async def drain(self) -> None:
        """Wait while the transport's buffer is over its high-water mark."""
        if not self._writing_paused:
            return
        if self.transport is None:
            raise ClientGone("the client closed the connection")
        self._drain = self.loop.create_future()
        await self._drain

    def end_stream(self) -> None:
        self._stream_ended = True
        transport = self.transport
        if transport is not None and not transport.is_closing() and self._chunked:
            transport.write(b"0\r\n\r\n")

    def _wake_drain(self, failure: BaseException | None) -> None:
        waiter, self._drain = self._drain, None
        wake(waiter, failure)
