"""Plain events a front end receives while WalletConnect works (no Qt: one adapter re-emits them).

Every event is a frozen dataclass with a ``kind`` string, so a GUI can ``match`` on the class and
a CLI can print ``kind`` plus fields as one JSON line.  Handlers are called synchronously on the
event loop and must not block; an exception in a handler is logged, never propagated into the
protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from app.keyengine.texts import SignaturePurpose

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PairingUriReady:
    """Show this URI (QR + copy link) until ``expires_at`` (unix seconds)."""

    kind: ClassVar[str] = "pairing_uri"
    uri: str = field(repr=False)
    """Holds the pairing symKey: show it, never log it."""
    expires_at: int
    renewal: int
    """0 for the first URI of a connection, then 1, 2… for automatic renewals."""


@dataclass(frozen=True, slots=True)
class SessionApproved:
    kind: ClassVar[str] = "session_approved"
    address: str
    """EIP-55 address of the account the wallet approved."""
    chain_id: str
    peer_name: str
    peer_url: str
    expiry: int


@dataclass(frozen=True, slots=True)
class SignRequested:
    """A request is on its way: tell the user to open the wallet and show the exact text."""

    kind: ClassVar[str] = "sign_request"
    purpose: SignaturePurpose
    text: str
    address: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Signed:
    kind: ClassVar[str] = "signed"
    purpose: SignaturePurpose
    address: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The wallet declined (a proposal or a request); ``code`` is its JSON-RPC error code."""

    kind: ClassVar[str] = "rejected"
    what: str
    """``"proposal"`` or ``"request"``."""
    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Expired:
    kind: ClassVar[str] = "expired"
    what: str
    """``"pairing"``, ``"request"`` or ``"session"``."""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session is gone; the user must connect again to sign."""

    kind: ClassVar[str] = "session_deleted"
    by_wallet: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SessionChanged:
    """The wallet extended the session, updated its accounts, or emitted an event."""

    kind: ClassVar[str] = "session_changed"
    what: str
    """``"extended"``, ``"updated"`` or the wallet event name (``accountsChanged``…)."""
    address: str
    expiry: int
    data: object = None


@dataclass(frozen=True, slots=True)
class Reconnecting:
    kind: ClassVar[str] = "reconnecting"
    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    kind: ClassVar[str] = "reconnected"


@dataclass(frozen=True, slots=True)
class RelayRefused:
    """The relay refused us for good (project id / origin): a configuration problem."""

    kind: ClassVar[str] = "relay_rejected"
    reason: str


WalletConnectEvent = (
    PairingUriReady
    | SessionApproved
    | SignRequested
    | Signed
    | Rejected
    | Expired
    | SessionEnded
    | SessionChanged
    | Reconnecting
    | Reconnected
    | RelayRefused
)
EventHandler = Callable[[WalletConnectEvent], None]


def emit(handler: EventHandler | None, event: WalletConnectEvent) -> None:
    """Call ``handler`` with ``event``; a failing handler is logged, never raised."""
    if handler is None:
        return
    try:
        handler(event)
    except Exception:
        log.exception("WalletConnect event handler failed on %s", event.kind)
