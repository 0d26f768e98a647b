"""The node's HTTP/1.1 server: httptools (llhttp) for parsing, asyncio for the rest.

aiohttp's server spent about 60 µs of the event loop's time on each request, more than the
rest of a publish (validation, group commit, metrics) put together; at 128 clients that alone
kept p99 above 20 ms.  This layer does only what the node's routes use: whole bodies up to a
ceiling, whole answers with Content-Length, chunked streams with back-pressure, keep-alive and
pipelining, ``Expect: 100-continue``; parsing itself (the part where HTTP servers get
smuggling and overflow bugs) is llhttp's.  Policy is the server's: answers (routes, errors) come
from a ``ConnectionHost``, admission and timeouts from a ``ConnectionWatcher``.
"""

from app.xmtpnode.http.connection import ConnectionHost, ConnectionWatcher, HttpConnection
from app.xmtpnode.http.listener import HttpListener
from app.xmtpnode.http.messages import (
    ClientGone,
    HttpRefusal,
    Request,
    Response,
    StreamResponse,
)

__all__ = [
    "ClientGone",
    "ConnectionHost",
    "ConnectionWatcher",
    "HttpConnection",
    "HttpListener",
    "HttpRefusal",
    "Request",
    "Response",
    "StreamResponse",
]
