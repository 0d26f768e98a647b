"""Every number of the WalletConnect v2 protocol this package uses: durations, codes, tags.

Kept in one module so a reader can check them against the protocol notes in one place, and so
the same value (a relay ttl, an error code) is never written twice with a chance to differ.
Values are the 2.25 JS SDK's unless a comment says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# -- relay ----------------------------------------------------------------------------------

DEFAULT_RELAY_URL: Final = "wss://relay.walletconnect.org"
PROJECT_ID_ENV: Final = "XMTP_COMPANION_WC_PROJECT_ID"
REJECTED_CLOSE_CODE: Final = 3000
"""Websocket close code of a relay that refuses the project id or origin (final)."""
JWT_TTL: Final = 86400
"""Seconds a relay auth token is valid."""
METHOD_NOT_FOUND: Final = -32601
"""JSON-RPC code for a method we (or the relay) do not know."""

# -- durations (seconds) --------------------------------------------------------------------

PAIRING_TTL: Final = 300
"""A pairing URI is valid five minutes (the SDK's FIVE_MINUTES); wallets refuse expired URIs."""
PROPOSAL_RELAY_TTL: Final = 300
"""How long the relay keeps a session proposal in the pairing topic's mailbox."""
SESSION_TTL: Final = 7 * 86400
"""A settled session lives seven days (set by the wallet; also our cap for extensions)."""
SETTLE_EXPIRY_SLACK: Final = 60
"""Seconds a settle's expiry may exceed ``now + SESSION_TTL`` (clock skew) before we clamp it."""
REQUEST_TTL: Final = 900
"""Default seconds a ``wc_sessionRequest`` stays valid."""
REQUEST_EXPIRY_MIN: Final = 300
REQUEST_EXPIRY_MAX: Final = 7 * 86400
"""Wallets answer 8000 to a request whose ``expiryTimestamp`` lies outside [now+300, now+7d]."""
PING_TIMEOUT: Final = 30.0
"""Default seconds a ``wc_sessionPing`` waits for the wallet."""
DELETE_SEND_TIMEOUT: Final = 5.0
"""Seconds we try to deliver ``wc_sessionDelete`` before dropping the session locally."""
UNSUBSCRIBE_TIMEOUT: Final = 5.0
"""Seconds an ``irn_unsubscribe`` may take (best effort: the topic is forgotten anyway)."""
LONG_RELAY_TTL: Final = 86400
"""Relay ttl of pings, deletes and most responses."""
MAX_TIMER_DELAY: Final = 30 * 86400.0
"""Longest single wait of the expiry timer (it re-arms itself)."""

# -- error codes (JSON-RPC ``error.code`` between peers) ------------------------------------

USER_REJECTED_CODES: Final = frozenset({4001, 5000})
"""EIP-1193 4001 "User Rejected Request" and CAIP-25 5000 "User rejected"."""
UNSUPPORTED_ACCOUNTS: Final = 1003
"""Our answer to a ``wc_sessionUpdate`` without a usable account."""
USER_DISCONNECTED_CODE: Final = 6000
"""``wc_sessionDelete``: the session is ended on purpose (by us)."""
SESSION_SETTLE_REFUSED: Final = 7000
"""Our answer to a ``wc_sessionSettle`` we cannot use (or could not store)."""
REQUEST_EXPIRED_CODE: Final = 8000
"""The wallet's answer to a request past its ``expiryTimestamp``."""

# -- relay tags -----------------------------------------------------------------------------


class Tag:
    """Relay tags of the requests we send (spec 1.7)."""

    PROPOSE = 1100
    REQUEST = 1108
    DELETE = 1112
    PING = 1114
    UNKNOWN = 0
    """Answer to a method we do not know."""


RESPONSE_TAGS: Final[Mapping[str, tuple[int, int]]] = {
    "wc_sessionSettle": (1103, 300),
    "wc_sessionUpdate": (1105, LONG_RELAY_TTL),
    "wc_sessionExtend": (1107, LONG_RELAY_TTL),
    "wc_sessionRequest": (1109, 900),
    "wc_sessionEvent": (1111, 300),
    "wc_sessionDelete": (1113, LONG_RELAY_TTL),
    "wc_sessionPing": (1115, LONG_RELAY_TTL),
    "wc_pairingDelete": (1001, LONG_RELAY_TTL),
    "wc_pairingPing": (1003, 30),
}
"""Response (tag, ttl) of each request method we answer; unknown methods get
``(Tag.UNKNOWN, LONG_RELAY_TTL)``."""
