"""WalletConnect v2 Sign, dApp side: pair a phone (or desktop) wallet and send it requests.

No Python library implements the dApp side, so this package does.  It knows nothing of XMTP
(the architecture test keeps it that way): the engine's ``wallets.walletconnect`` adapter asks a
session for ``personal_sign`` of the XMTP texts.

* ``constants``: every duration, error code and relay tag, in one place;
* ``crypto``: X25519/HKDF key agreement, topics, type-0 envelopes;
* ``relay_auth``: our Ed25519 client key, its ``did:key`` and the relay auth JWT;
* ``uri``: pairing URIs and terminal QR codes;
* ``relay_config`` / ``relay`` / ``relay_rpc`` / ``relay_inbox``: the websocket connection to
  the relay (configuration and handshake; subscriptions and reconnection; our requests and
  their answers; the messages it delivers);
* ``session``: proposal/settle/request payloads and the checks a session must pass;
* ``pairing``: proposal → approval → settle; ``live_session``: requests and lifecycle;
  ``peer_link``: what both share; ``client``: one relay connection routing to both;
  ``connect``: pair, resume, or both (``resume_or_pair``, the front ends' one entry point);
* ``tasks``: background tasks and futures, all accounted for;
* ``store``: sessions and the client seed in a secret store, as one JSON value;
* ``events``: what a front end is told while all this happens.

The protocol notes this follows are the project's ``walletconnect-v2.md``.
"""

from app.walletconnect.client import WalletConnectClient
from app.walletconnect.connect import ClientSettings, pair, resume_or_pair, resume_stored
from app.walletconnect.constants import DEFAULT_RELAY_URL, PROJECT_ID_ENV
from app.walletconnect.errors import (
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
from app.walletconnect.events import WalletConnectEvent
from app.walletconnect.relay_config import RelayOptions, resolve_project_id
from app.walletconnect.session import AppMetadata, Session
from app.walletconnect.store import SecretStore, SessionStore

__all__ = [
    "DEFAULT_RELAY_URL",
    "PROJECT_ID_ENV",
    "AppMetadata",
    "ClientSettings",
    "NoSession",
    "PairingExpired",
    "ProjectIdMissing",
    "ProtocolViolation",
    "RelayOptions",
    "RelayRejected",
    "RelayUnavailable",
    "RequestExpired",
    "SecretStore",
    "Session",
    "SessionDeleted",
    "SessionExpired",
    "SessionRefused",
    "SessionStore",
    "UserRejected",
    "WalletConnectClient",
    "WalletConnectError",
    "WalletConnectEvent",
    "pair",
    "resolve_project_id",
    "resume_or_pair",
    "resume_stored",
]
