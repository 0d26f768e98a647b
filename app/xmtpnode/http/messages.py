"""One HTTP request and its answer, as the node's handlers see them.

Plain objects with slots: a publish creates one of each, so they hold exactly what a handler
reads (method, path, lower-case headers, the body once it has arrived, the client address)
and what a response needs to go out (status, body, headers).  Streams write their head and
then chunks through the connection, waiting whenever the client reads slower than the node
writes.
"""

from __future__ import annotations

import asyncio
import functools
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from app.xmtpnode.http.connection import HttpConnection

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
"""What a request without Content-Type is taken to carry (RFC 9110 §8.3)."""

_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}


class HttpRefusal(Exception):
    """The HTTP layer refuses a request: ``status`` and its reason phrase (413, 404, 405…)."""

    def __init__(self, status: int) -> None:
        super().__init__(_REASONS.get(status, "Error"))
        self.status = status
        self.reason = _REASONS.get(status, "Error")


class ClientGone(ConnectionResetError):
    """The client closed its connection before the request or its answer was complete."""


class Request:
    """A request whose head has arrived; ``await read()`` gives the body."""

    __slots__ = (
        "_body",
        "_chunks",
        "_failure",
        "_received",
        "_waiter",
        "complete",
        "connection",
        "content_type",
        "headers",
        "keep_alive",
        "max_body",
        "method",
        "path",
        "query",
        "refused",
        "remote",
    )

    def __init__(
        self,
        connection: HttpConnection,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        keep_alive: bool,
        max_body: int,
    ) -> None:
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        """Lower-case names; repeated fields joined with ``", "`` (RFC 9110 §5.3)."""
        self.keep_alive = keep_alive
        self.max_body = max_body
        self.remote = connection.peer_address
        content_type = headers.get("content-type")
        self.content_type = (
            DEFAULT_CONTENT_TYPE
            if content_type is None
            else content_type.partition(";")[0].strip().lower()
        )
        self._chunks: list[bytes] = []
        self._received = 0
        self._body: bytes | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.complete = False
        """Whether the whole body has arrived."""
        length = headers.get("content-length", "")
        self.refused = length.isdigit() and int(length) > max_body
        """Whether the body outgrows ``max_body``, announced or as it comes (its bytes are
        dropped as they arrive)."""
        self._failure: Exception | None = None

    @property
    def transport(self) -> asyncio.Transport | None:
        """The connection's transport while it is open."""
        return self.connection.transport

    async def read(self) -> bytes:
        """The whole body.  HttpRefusal(413) past ``max_body``, HttpRefusal(400) if its
        framing is malformed; ClientGone if the client leaves first."""
        if not self.complete and not self.refused:
            if self._failure is not None:
                raise self._failure
            if self.connection.transport is None:
                raise ClientGone("the client closed the connection")
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.refused:
            raise HttpRefusal(413)
        if self._body is None:
            self._body = b"".join(self._chunks)
            self._chunks = []
        return self._body

    # --- fed by the connection -------------------------------------------------------------

    def received(self, data: bytes) -> None:
        if self.refused:
            return
        self._received += len(data)
        if self._received > self.max_body:
            self.refused = True
            self._chunks = []
            self._wake(None)
            return
        self._chunks.append(data)

    def finished(self) -> None:
        self.complete = True
        self._wake(None)

    def abandoned(self, failure: Exception | None = None) -> None:
        """The body will not be completed: the connection was lost (``ClientGone``), or the
        rest could not be parsed (``failure``).  A complete body stays readable."""
        if self.complete:
            return
        self._failure = failure or ClientGone("the client closed the connection")
        self._wake(self._failure)

    def _wake(self, failure: BaseException | None) -> None:
        waiter, self._waiter = self._waiter, None
        wake(waiter, failure)


def wake(waiter: asyncio.Future[None] | None, failure: BaseException | None) -> None:
    """Resolve ``waiter`` (if any and still pending): done, or failed with ``failure``."""
    if waiter is not None and not waiter.done():
        if failure is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(failure)


class Response:
    """A whole answer: status, body, content type, further headers."""

    __slots__ = ("body", "close_connection", "content_type", "headers", "started", "status")

    def __init__(
        self,
        body: bytes = b"",
        *,
        status: int = 200,
        content_type: str = "application/json; charset=utf-8",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.content_type = content_type
        self.headers: list[tuple[str, str]] = [] if headers is None else headers
        self.close_connection = False
        """Close the connection once this has been written (the request was not read to the
        end, or the client is not worth keeping)."""
        self.started = False
        """Whether its head has gone out already (streams, before their handler returns)."""

    def head(self, keep_alive: bool, body_length: int | None) -> bytes:
        """The status line and header block (Content-Length unless ``body_length`` is None)."""
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}\r\n"
            f"Content-Type: {self.content_type}\r\nDate: {http_date()}\r\n"
        ]
        if body_length is not None:
            lines.append(f"Content-Length: {body_length}\r\n")
        lines.extend(f"{name}: {value}\r\n" for name, value in self.headers)
        if not keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")


class StreamResponse(Response):
    """An answer written piece by piece (chunked) while the handler runs: subscriptions."""

    __slots__ = ("_request",)

    def __init__(
        self, request: Request, *, content_type: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(content_type=content_type, headers=headers)
        self._request = request

    async def prepare(self) -> None:
        """Send the head; from now on ``write`` sends chunks."""
        self.started = True
        self._request.connection.start_stream(self._request, self)

    async def write(self, data: bytes) -> None:
        """Send one chunk; wait while the client is not reading.  ClientGone once it left."""
        connection = self._request.connection
        connection.write_chunk(data)
        await connection.drain()

    async def write_eof(self) -> None:
        """The last chunk: the answer is complete and the connection may serve another."""
        self._request.connection.end_stream()


def http_date() -> str:
    """The Date header's value (formatted once a second)."""
    return _formatted_date(int(time.time()))


@functools.lru_cache(maxsize=1)
def _formatted_date(second: int) -> str:
    return formatdate(second, usegmt=True)
