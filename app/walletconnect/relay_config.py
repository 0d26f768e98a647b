"""What a relay connection is configured with (URL, project id, timings) and how it opens.

Kept apart from the connection loop so front ends can resolve and check the configuration
(a missing project id, a URL that is not ``ws(s)://``) before anything connects, and so the
mapping of handshake failures to typed errors sits in one place.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.walletconnect.constants import PROJECT_ID_ENV
from app.walletconnect.errors import ProjectIdMissing, RelayError, RelayRejected, RelayUnavailable

USER_AGENT: Final = f"wc-2/python-xmtp-key-companion-1/{platform.system().lower()}/desktop"


def resolve_project_id(explicit: str | None = None) -> str:
    """The project id to use: ``explicit`` (settings / CLI), else ``$XMTP_COMPANION_WC_PROJECT_ID``.

    The production relay refuses connections without one (close 3000), so a missing id is
    reported before we try.
    """
    for candidate in (explicit, os.environ.get(PROJECT_ID_ENV)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    raise ProjectIdMissing(
        "no WalletConnect project id: set one in the settings, pass --project-id, "
        f"or set ${PROJECT_ID_ENV} (get one from the Reown dashboard)"
    )


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """Timings of the relay connection (tests shorten them)."""

    request_timeout: float = 30.0
    """Seconds a relay request may take in total, reconnections included."""
    attempt_timeout: float = 10.0
    """Seconds one attempt waits for the relay's answer before asking again."""
    open_timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0


def build_relay_url(relay_url: str, project_id: str, auth: str, user_agent: str) -> str:
    """The relay URL with ``auth``, ``projectId``, ``ua`` and ``useOnCloseEvent`` (sorted)."""
    parts = urlsplit(relay_url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise RelayError(f"relay URL must be ws:// or wss://, got {relay_url!r:.200}")
    query = dict(parse_qsl(parts.query))
    query.update(auth=auth, projectId=project_id, ua=user_agent, useOnCloseEvent="true")
    return urlunsplit(parts._replace(query=urlencode(sorted(query.items()))))


async def open_connection(url: str, options: RelayOptions) -> ClientConnection:
    """Open the websocket; ``RelayRejected`` on HTTP 401/403, ``RelayUnavailable`` otherwise."""
    try:
        return await connect(
            url,
            open_timeout=options.open_timeout,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            close_timeout=2,
            max_size=2**22,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise RelayRejected(f"the relay refused the connection (HTTP {status})") from None
        raise RelayUnavailable(f"the relay answered HTTP {status}") from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise RelayUnavailable(f"cannot reach the relay: {type(exc).__name__}") from None
