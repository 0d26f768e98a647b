"""The seam between the Connect screen and the WalletConnect signer.

The Connect view-model never imports the WalletConnect package itself: it is given a
``WalletConnectFactory`` (the default one below, or a test's, e.g. one that drives the official
wallet SDK as the peer).  The factory connects (showing pairing URIs through ``on_event``) or
resumes a remembered session, and returns a ``WalletSigner``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from app.keyengine.errors import KeyEngineError
from app.keyengine.vault import MemoryStore, SecretStore
from app.keyengine.wallets.base import WalletSigner

PAIRING_TIMEOUT_S: Final = 300.0
"""A pairing URI is shown for five minutes, then renewed."""

SIGNER_MODULE: Final = "app.keyengine.wallets.walletconnect"


class WalletConnectUnavailable(KeyEngineError):
    """This build has no WalletConnect signer."""


@dataclass(frozen=True)
class WalletConnectOptions:
    relay_url: str
    project_id: str
    secrets: SecretStore | None
    """Where sessions are remembered (the OS keyring); ``None``: this run only."""
    on_event: Callable[[object], None]
    resume_address: str | None = None
    """Resume the remembered session of this account instead of pairing anew."""
    pairing_timeout: float = PAIRING_TIMEOUT_S


WalletConnectFactory = Callable[[WalletConnectOptions], Awaitable[WalletSigner]]


def _signer_class() -> Any:
    try:
        module = importlib.import_module(SIGNER_MODULE)
        return module.WalletConnectSigner
    except (ImportError, AttributeError):
        raise WalletConnectUnavailable(
            "WalletConnect is not available in this version of the app"
        ) from None


async def default_walletconnect_factory(options: WalletConnectOptions) -> WalletSigner:
    """Connect with ``WalletConnectSigner`` (pairing by QR code) or resume a saved session."""
    signer_class = _signer_class()
    store_module = importlib.import_module(SIGNER_MODULE + ".store")
    session_module = importlib.import_module(SIGNER_MODULE + ".session")
    store = store_module.SessionStore(options.secrets or MemoryStore())
    common = {
        "relay_url": options.relay_url,
        "project_id": options.project_id or None,
        "metadata": session_module.DEFAULT_METADATA,
        "on_event": options.on_event,
    }
    if options.resume_address is not None:
        resumed: WalletSigner | None = await signer_class.resume(
            store, address=options.resume_address, **common
        )
        if resumed is not None:
            return resumed
    signer: WalletSigner = await signer_class.connect(
        store, pairing_timeout=options.pairing_timeout, **common
    )
    return signer


def forget_session(secrets: SecretStore | None, address: str) -> None:
    """Drop the remembered WalletConnect session(s) of ``address`` (disconnect forgets)."""
    if secrets is None:
        return
    try:
        store_module = importlib.import_module(SIGNER_MODULE + ".store")
    except ImportError:
        return
    store = store_module.SessionStore(secrets)
    for session in store.sessions():
        if session.address.lower() == address.lower():
            store.drop(session.topic)
