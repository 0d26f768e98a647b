"""The node's side of every connection: routing, failures as grpc-gateway JSON, metrics, CORS.

``NodeFront`` is the ``ConnectionHost`` of the node's HTTP layer: connections hand it each
request (their transitions go to the ``ConnectionGuard``).  Whatever a handler raises becomes
``{"code", "message", "details": []}`` with the HTTP status grpc-gateway would give; a request
that could not even be parsed gets the same JSON, with one (rate-limited) log line rather than
a traceback.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from app.xmtpnode import codec, ops, routes
from app.xmtpnode.context import NodeParts
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.fairness import LimitExceeded
from app.xmtpnode.http import ClientGone, HttpConnection, HttpRefusal, Request, Response
from app.xmtpnode.logs import refusals_log

log = logging.getLogger("app.xmtpnode.server")

MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
"""Largest request body (grpc-go's default receive limit); enough for a maximal message in
JSON (1,048,214 bytes → 1.4 MB of base64) plus a few more envelopes."""
_TIMED_ROUTES: Final = frozenset(
    {"/message/v1/publish", "/message/v1/query", "/message/v1/batch-query"}
)
_HTTP_TO_GRPC: Final = {  # the refusals of the HTTP layer and the router
    400: GrpcCode.INVALID_ARGUMENT,
    404: GrpcCode.NOT_FOUND,
    405: GrpcCode.UNIMPLEMENTED,
    413: GrpcCode.RESOURCE_EXHAUSTED,
}


class NodeFront:
    """Answers the requests of one node's connections."""

    max_body = MAX_REQUEST_BYTES

    def __init__(self, parts: NodeParts) -> None:
        self.parts = parts
        self.routes = routes.route_table(parts)

    # --- answers -------------------------------------------------------------------------------

    async def answer(self, request: Request) -> Response:
        """The route's answer, or the error JSON for whatever it raised; never raises."""
        started = time.perf_counter()
        path = request.path
        try:
            methods = self.routes.get(path)
            handler = None if methods is None else methods.get(request.method)
            if handler is None:
                response = self._unrouted(request, methods)
            else:
                response = await handler(request)
        except Exception as exc:
            response = self._failure_response(request, exc)
        if not response.started:  # streams add theirs before they start
            self.parts.cors.decorate(request.headers, response)
        timed = time.perf_counter() - started if path in _TIMED_ROUTES else None
        self.parts.metrics.answered(path, response.status, timed)
        return response

    def malformed(self, connection: HttpConnection, headers: dict[str, str], why: str) -> Response:
        refusals_log.warning(
            "refused an unparsable request from %s: %s", connection.peer_address, why[:200]
        )
        self.parts.metrics.answered("", 400, None)
        response = _error_response(ApiError(GrpcCode.INVALID_ARGUMENT, "malformed HTTP request"))
        self.parts.cors.decorate(headers, response)
        return response

    def _unrouted(self, request: Request, methods: dict[str, ops.Handler] | None) -> Response:
        """Any other path or method: CORS preflights answered, the rest 405 or 404."""
        if ops.is_preflight(request):
            return self.parts.cors.preflight()
        raise HttpRefusal(404 if methods is None else 405)

    def _failure_response(self, request: Request, failure: Exception) -> Response:
        match failure:
            case LimitExceeded() as refusal:
                self.parts.metrics.refused(refusal.limit)
                refusals_log.warning("refused a request from %s: %s", request.remote, refusal.limit)
                return _error_response(refusal)
            case ApiError() as error:
                return _error_response(error)
            case HttpRefusal() as refused:
                code = _HTTP_TO_GRPC.get(refused.status, GrpcCode.INTERNAL)
                status = 405 if refused.status == 405 else None
                return _error_response(ApiError(code, refused.reason, http_status=status))
            case ClientGone():  # nobody is left to read the answer
                gone = ApiError(GrpcCode.CANCELLED, "the client closed the connection")
                return _error_response(gone)
        log.error("internal error handling %s", request.path, exc_info=failure)
        return _error_response(ApiError(GrpcCode.INTERNAL, "internal error"))


def _error_response(error: ApiError) -> Response:
    response = Response(codec.dumps(error.body()), status=error.http_status)
    if error.code is GrpcCode.DEADLINE_EXCEEDED:
        response.close_connection = True  # the rest of the body is not worth waiting for
    return response
