"""Connect a wallet (keystore, JSON-RPC, WalletConnect), then log in to its XMTP identity."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from app.companion.context import AppContext
from app.companion.qt import QObject, QTimer, Signal
from app.companion.services.accounts import Account
from app.companion.settings import SavedAccount
from app.companion.signing import PromptingSigner, SignerKind
from app.companion.walletconnect import WalletConnectOptions
from app.keyengine.flows import Identity
from app.keyengine.wallets.base import WalletSigner
from app.keyengine.wallets.closing import close_signer

MAX_PAIRING_RENEWALS = 12
"""Automatic renewals of an expired QR code (an hour) before giving up."""


class ConnectViewModel(QObject):
    connected = Signal(str)
    """Address of the account just connected and unlocked."""
    pairing_uri = Signal(str)
    """A WalletConnect pairing URI to show as QR code and link ("" clears it)."""
    countdown = Signal(int)
    """Seconds left before the current pairing URI expires."""
    wallet_status = Signal(str)
    """A line of WalletConnect progress in plain words."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.current_uri = ""
        self._expires_at = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._closing: set[asyncio.Future[None]] = set()

    # -- keystore ----------------------------------------------------------------------------

    async def connect_keystore(self, path: str, password: str) -> str | None:
        async def work() -> str:
            from app.keyengine.wallets.keystore import KeystoreSigner

            self.context.operations.report_progress(self.tr("Unlocking the keystore…"))
            signer = await KeystoreSigner.unlock(path, password)
            saved = SavedAccount(signer.address, SignerKind.KEYSTORE.value, str(Path(path)))
            return await self._login(signer, SignerKind.KEYSTORE, saved)

        return await self.context.operations.run(self.tr("Unlocking your keys"), work)

    async def create_keystore(self, path: str, password: str, repeated: str) -> str | None:
        async def work() -> str:
            from app.keyengine.wallets.keystore import KeystoreSigner, create_keystore

            if password != repeated:
                raise ValueError(self.tr("the two passwords differ"))
            self.context.operations.report_progress(self.tr("Creating the keystore…"))
            await create_keystore(path, password)
            signer = await KeystoreSigner.unlock(path, password)
            saved = SavedAccount(signer.address, SignerKind.KEYSTORE.value, str(Path(path)))
            return await self._login(signer, SignerKind.KEYSTORE, saved)

        return await self.context.operations.run(self.tr("Creating a new wallet"), work)

    async def connect_signer(
        self, signer: WalletSigner, kind: SignerKind, location: str = ""
    ) -> str | None:
        """Log in with a signer made elsewhere (tests, raw keys)."""

        async def work() -> str:
            saved = SavedAccount(signer.address, kind.value, location)
            return await self._login(signer, kind, saved)

        return await self.context.operations.run(self.tr("Unlocking your keys"), work)

    # -- JSON-RPC ----------------------------------------------------------------------------

    async def connect_rpc(self, url: str, account: str = "") -> str | None:
        async def work() -> str:
            from app.keyengine.wallets.jsonrpc import JsonRpcSigner

            self.context.operations.report_progress(self.tr("Asking the wallet for its account…"))
            signer = await JsonRpcSigner.connect(url.strip(), account.strip() or None)
            saved = SavedAccount(signer.address, SignerKind.JSON_RPC.value, url.strip())
            try:
                return await self._login(signer, SignerKind.JSON_RPC, saved)
            except BaseException:
                await signer.aclose()
                raise

        return await self.context.operations.run(self.tr("Connecting your wallet"), work)

    # -- WalletConnect -----------------------------------------------------------------------

    async def connect_walletconnect(self, resume_address: str | None = None) -> str | None:
        async def work() -> str:
            signer = await self._pair(resume_address)
            saved = SavedAccount(signer.address, SignerKind.WALLETCONNECT.value)
            try:
                return await self._login(signer, SignerKind.WALLETCONNECT, saved)
            except BaseException:
                await close_signer(signer)
                raise

        try:
            return await self.context.operations.run(self.tr("Connecting with WalletConnect"), work)
        finally:
            self._clear_pairing()

    async def _pair(self, resume_address: str | None) -> WalletSigner:
        from app.keyengine.wallets.walletconnect.errors import PairingExpired

        settings = self.context.settings
        renewals = 0
        while True:
            options = WalletConnectOptions(
                relay_url=settings.relay_url,
                project_id=settings.project_id,
                secrets=self.context.engine.secret_store,
                on_event=self.on_walletconnect_event,
                resume_address=resume_address,
            )
            try:
                return await self.context.walletconnect_factory(options)
            except PairingExpired:
                renewals += 1
                if resume_address is not None or renewals > MAX_PAIRING_RENEWALS:
                    raise
                self.wallet_status.emit(self.tr("The code expired; showing a new one."))

    def on_walletconnect_event(self, event: object) -> None:
        """WalletConnect's plain events, turned into what the Connect screen shows."""
        kind = getattr(event, "kind", "")
        if kind == "pairing_uri":
            self.current_uri = str(getattr(event, "uri", ""))
            self._expires_at = float(getattr(event, "expires_at", time.time() + 300))
            self.pairing_uri.emit(self.current_uri)
            self._ticker.start()
            self._tick()
            self.wallet_status.emit(self.tr("Scan the code with your wallet, or copy the link."))
        elif kind == "session_approved":
            self._clear_pairing()
            name = str(getattr(event, "peer_name", ""))
            self.wallet_status.emit(self.tr("Connected to {0}.").format(name))
        elif kind == "rejected":
            self.wallet_status.emit(self.tr("The wallet declined."))
        elif kind == "expired":
            self.wallet_status.emit(self.tr("Expired: {0}.").format(getattr(event, "what", "")))
        elif kind == "session_deleted":
            self.wallet_status.emit(self.tr("The wallet ended the session."))
        elif kind == "reconnecting":
            self.wallet_status.emit(self.tr("Reconnecting to the relay…"))
        elif kind == "relay_rejected":
            self.wallet_status.emit(self.tr("The relay refused this app: check the project id."))

    def _tick(self) -> None:
        left = max(0, int(self._expires_at - time.time()))
        self.countdown.emit(left)

    def _clear_pairing(self) -> None:
        self._ticker.stop()
        if self.current_uri:
            self.current_uri = ""
            self.pairing_uri.emit("")

    def cancel(self) -> None:
        self.context.operations.cancel()

    # -- common ------------------------------------------------------------------------------

    async def _login(self, signer: WalletSigner, kind: SignerKind, saved: SavedAccount) -> str:
        prompting = self.context.prompting(signer, kind)
        self.context.operations.report_progress(self.tr("Looking for your keys on the node…"))
        identity = await self.context.engine.flows.login(prompting)
        self._add(prompting, identity, saved)
        return identity.wallet_address

    def _add(self, signer: PromptingSigner, identity: Identity, saved: SavedAccount) -> None:
        previous = self.context.accounts.get(identity.wallet_address)
        if previous is not None and previous.signer is not signer:
            closing = asyncio.ensure_future(previous.signer.aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        self.context.accounts.add(Account(signer, identity, saved))
        self.context.settings.remember(saved)
        self.context.save_settings()
        self.connected.emit(identity.wallet_address)
