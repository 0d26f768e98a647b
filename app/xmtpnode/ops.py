"""What operators and browsers need around the API: CORS, ``/healthz``, ``/metrics``.

CORS follows the reference node (grpc-gateway wrapped in an ``allowCORS`` handler): every
response carries ``Access-Control-Allow-Origin`` (``*`` unless origins are configured) and a
preflight (``OPTIONS`` with ``Access-Control-Request-Method``) on any path is answered with the
headers and methods xmtp-js in a browser sends (``mode: "cors"``, ``X-Client-Version``,
``X-App-Version``, ``Authorization``, ``Content-Type``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

from app.xmtpnode.http import Request, Response

ALLOWED_HEADERS: Final = ",".join(
    (
        "Content-Type",
        "Accept",
        "Authorization",
        "X-Client-Version",
        "X-App-Version",
        "Baggage",
        "DNT",
        "Sec-CH-UA",
        "Sec-CH-UA-Mobile",
        "Sec-CH-UA-Platform",
        "Sentry-Trace",
        "User-Agent",
    )
)
ALLOWED_METHODS: Final = "GET,HEAD,POST,OPTIONS"
PREFLIGHT_MAX_AGE_S: Final = 600
HEALTH_TIMEOUT_S: Final = 2.0

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Which browser origins may call the node: ``None`` → any (``*``, the default)."""

    origins: frozenset[str] | None = None

    @classmethod
    def from_list(cls, origins: Iterable[str]) -> CorsPolicy:
        listed = frozenset(o.strip().rstrip("/") for o in origins if o.strip())
        return cls(None if not listed or "*" in listed else listed)

    def allow_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if any."""
        if self.origins is None:
            return "*"
        if origin is not None and origin.rstrip("/") in self.origins:
            return origin
        return None

    def decorate(self, headers: dict[str, str], response: Response) -> None:
        """Add the CORS headers for a request with ``headers`` (lower-case names) to
        ``response``, right before its head goes out."""
        allowed = self.allow_origin(headers.get("origin"))
        if allowed is not None:
            response.headers.append(("Access-Control-Allow-Origin", allowed))
        if self.origins is not None:
            response.headers.append(("Vary", "Origin"))

    def preflight(self) -> Response:
        return Response(
            status=204,
            headers=[
                ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_S)),
            ],
        )


def is_preflight(request: Request) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


async def health_response(probe: Callable[[], Awaitable[object]], shutting_down: bool) -> Response:
    """200 when the store answered ``probe()`` in time, 503 otherwise (or while stopping)."""
    if shutting_down:
        return _health(503, "stopping")
    try:
        await asyncio.wait_for(probe(), HEALTH_TIMEOUT_S)
    except Exception as exc:  # any failure of the store means "not healthy"
        return _health(503, f"store unavailable: {type(exc).__name__}")
    return _health(200, "ok")


def _health(status: int, text: str) -> Response:
    return Response(
        json.dumps({"status": text}).encode(),
        status=status,
        headers=[("Cache-Control", "no-store")],
    )
