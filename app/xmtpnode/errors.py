"""gRPC status codes and the error the node answers with.

Clients of the reference node (xmtp-js, the mobile SDKs, our own ``app.keyengine.network``)
read two things from a failed call: the HTTP status and the gRPC ``code`` in the JSON body.
xmtp-js decides whether to refresh its token (16) or retry (anything else) from that code, so
both must match what grpc-gateway would have produced for the same gRPC status.
"""

from __future__ import annotations

import enum
from typing import Any


class GrpcCode(enum.IntEnum):
    """The gRPC status codes the node uses (values are the wire numbers)."""

    CANCELLED = 1
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


# grpc-gateway's HTTPStatusFromCode for the codes above.
_HTTP_STATUS: dict[GrpcCode, int] = {
    GrpcCode.CANCELLED: 499,
    GrpcCode.INVALID_ARGUMENT: 400,
    GrpcCode.DEADLINE_EXCEEDED: 504,
    GrpcCode.NOT_FOUND: 404,
    GrpcCode.PERMISSION_DENIED: 403,
    GrpcCode.RESOURCE_EXHAUSTED: 429,
    GrpcCode.UNIMPLEMENTED: 501,
    GrpcCode.INTERNAL: 500,
    GrpcCode.UNAVAILABLE: 503,
    GrpcCode.UNAUTHENTICATED: 401,
}


class ApiError(Exception):
    """A refusal the node reports to the client as ``{"code", "message", "details"}``."""

    def __init__(self, code: GrpcCode, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = _HTTP_STATUS[code] if http_status is None else http_status

    def body(self) -> dict[str, Any]:
        """The JSON body grpc-gateway sends for this status (``details`` always present)."""
        return {"code": int(self.code), "message": self.message, "details": []}


def invalid_argument(message: str) -> ApiError:
    return ApiError(GrpcCode.INVALID_ARGUMENT, message)


def unauthenticated(message: str) -> ApiError:
    return ApiError(GrpcCode.UNAUTHENTICATED, message)


def permission_denied(message: str) -> ApiError:
    return ApiError(GrpcCode.PERMISSION_DENIED, message)
