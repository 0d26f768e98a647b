"""The seam between the Connect screen and the WalletConnect signer.

The Connect view-model is given a ``WalletConnectFactory``: the default one below, or a test's
(e.g. one that drives the official wallet SDK as the peer).  The default factory runs the one
"resume the remembered session of this account, else pair" entry point the CLI uses too
(``WalletConnectSigner.resume_or_pair``), announcing pairing URIs through ``on_event``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.keyengine.vault import MemoryStore, SecretStore
from app.keyengine.wallets.base import WalletSigner
from app.keyengine.wallets.walletconnect import (
    SignerEvent,
    WalletConnectSigner,
    session_store,
)
from app.walletconnect.constants import PAIRING_TTL


@dataclass(frozen=True)
class WalletConnectOptions:
    relay_url: str
    project_id: str
    secrets: SecretStore | None
    """Where sessions are remembered (the OS keyring); ``None``: this run only."""
    on_event: Callable[[SignerEvent], None]
    resume_address: str | None = None
    """Resume the remembered session of this account instead of pairing anew."""
    pairing_timeout: float = PAIRING_TTL
    """Seconds each pairing code is shown before it is renewed."""
    renewals: int | None = None
    """Fresh codes shown after the first expired before giving up (``None``: until cancelled)."""


WalletConnectFactory = Callable[[WalletConnectOptions], Awaitable[WalletSigner]]


async def default_walletconnect_factory(options: WalletConnectOptions) -> WalletSigner:
    """Resume the remembered session of ``options.resume_address``, else pair by QR code.

    Without a resume address nothing is resumed: "Start WalletConnect" always shows a code.
    """
    return await WalletConnectSigner.resume_or_pair(
        options.secrets or MemoryStore(),
        options.relay_url,
        options.project_id or None,
        resume=options.resume_address is not None,
        address=options.resume_address,
        on_event=options.on_event,
        pairing_timeout=options.pairing_timeout,
        renewals=options.renewals,
    )


async def forget_session(secrets: SecretStore | None, address: str) -> None:
    """Drop the remembered WalletConnect session(s) of ``address`` (disconnect forgets)."""
    if secrets is not None:
        await asyncio.to_thread(session_store(secrets).forget_account, address)
