"""WalletConnect v2 Sign, dApp side: pair a phone (or desktop) wallet and ask it to sign.

No Python library implements the dApp side, so this package does, in small modules:

* ``crypto``: X25519/HKDF key agreement, topics, type-0 envelopes, Ed25519 relay auth (JWT);
* ``uri``: pairing URIs and terminal QR codes;
* ``relay``: the websocket JSON-RPC connection to the relay, with reconnection;
* ``session``: proposal/settle/request payloads and the checks a session must pass;
* ``client``: the pairing → proposal → settle → request state machine and session lifecycle;
* ``store``: sessions and the client seed in the OS keyring, as one JSON value;
* ``signer``: ``WalletConnectSigner``, the ``WalletSigner`` the engine uses;
* ``events``: what a front end is told while all this happens.

The protocol notes this follows are ``shared/protocol/walletconnect-v2.md``.
"""

from app.keyengine.wallets.walletconnect.errors import (
    NoSession,
    PairingExpired,
    ProjectIdMissing,
    ProtocolViolation,
    RelayRejected,
    RelayUnavailable,
    RequestExpired,
    SessionDeleted,
    SessionExpired,
    SessionRefused,
    UserRejected,
    WalletConnectError,
)
from app.keyengine.wallets.walletconnect.events import WalletConnectEvent
from app.keyengine.wallets.walletconnect.relay import DEFAULT_RELAY_URL, PROJECT_ID_ENV
from app.keyengine.wallets.walletconnect.session import DEFAULT_METADATA, AppMetadata, Session
from app.keyengine.wallets.walletconnect.signer import WalletConnectSigner
from app.keyengine.wallets.walletconnect.store import SessionStore

__all__ = [
    "DEFAULT_METADATA",
    "DEFAULT_RELAY_URL",
    "PROJECT_ID_ENV",
    "AppMetadata",
    "NoSession",
    "PairingExpired",
    "ProjectIdMissing",
    "ProtocolViolation",
    "RelayRejected",
    "RelayUnavailable",
    "RequestExpired",
    "Session",
    "SessionDeleted",
    "SessionExpired",
    "SessionRefused",
    "SessionStore",
    "UserRejected",
    "WalletConnectError",
    "WalletConnectEvent",
    "WalletConnectSigner",
]
