"""Typed events a front end receives while WalletConnect works (plain data, no Qt, no XMTP).

Every event is a frozen dataclass; a front end ``match``es on the class.  ``kind`` is only the
event's name on the wire of the CLI's ``--json`` lines (``{"event": kind, ...fields}``), so it
stays stable even if a class is renamed.  Handlers are called synchronously on the event loop
and must not block; an exception in a handler is logged, never propagated into the protocol.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

log = logging.getLogger(__name__)


class Step(enum.StrEnum):
    """What a ``Rejected`` or ``Expired`` event is about."""

    PAIRING = "pairing"
    """The pairing URI (nobody connected in time)."""
    PROPOSAL = "proposal"
    """The session proposal (the wallet declined to connect)."""
    REQUEST = "request"
    """A request sent on the session (the wallet declined or did not answer)."""
    SESSION = "session"
    """The session itself (it passed its expiry)."""


@dataclass(frozen=True, slots=True)
class PairingUriReady:
    """Show this URI (QR + copy link) until ``expires_at`` (unix seconds)."""

    kind: ClassVar[str] = "pairing_uri"
    uri: str = field(repr=False)
    """Holds the pairing symKey: show it, never log it."""
    expires_at: int
    renewal: int = 0
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
class Rejected:
    """The wallet declined a proposal or a request; ``code`` is its JSON-RPC error code."""

    kind: ClassVar[str] = "rejected"
    what: Step
    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Expired:
    """A pairing URI, a request or the session ran out of time."""

    kind: ClassVar[str] = "expired"
    what: Step


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session is gone; the user must connect again to sign."""

    kind: ClassVar[str] = "session_deleted"
    by_wallet: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SessionExtended:
    """The wallet extended the session to ``expiry``."""

    kind: ClassVar[str] = "session_extended"
    address: str
    expiry: int


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """The wallet changed the session's accounts; ``account`` (CAIP-10) is the one we use now."""

    kind: ClassVar[str] = "session_updated"
    address: str
    expiry: int
    account: str


@dataclass(frozen=True, slots=True)
class WalletEvent:
    """The wallet emitted a session event (``accountsChanged``, ``chainChanged``…)."""

    kind: ClassVar[str] = "wallet_event"
    name: str
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
    | Rejected
    | Expired
    | SessionEnded
    | SessionExtended
    | SessionUpdated
    | WalletEvent
    | Reconnecting
    | Reconnected
    | RelayRefused
)
EventHandler = Callable[[WalletConnectEvent], None]


E = TypeVar("E")


def emit(handler: Callable[[E], None] | None, event: E) -> None:
    """Call ``handler`` with ``event``; a failing handler is logged, never raised.

    Generic so that an adapter adding its own events reports them the same way.
    """
    if handler is None:
        return
    try:
        handler(event)
    except Exception:
        log.exception("WalletConnect event handler failed on %s", type(event).__name__)
