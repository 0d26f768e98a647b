"""Connect a wallet (keystore, JSON-RPC, WalletConnect), then log in to its XMTP identity."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from app.companion.context import AppContext
from app.companion.qt import QObject, QTimer, Signal
from app.companion.services.accounts import Account
from app.companion.settings import SavedAccount
from app.companion.signing import PromptingSigner, SignerKind
from app.companion.walletconnect import WalletConnectOptions
from app.keyengine.errors import KeyEngineError, WrongWallet
from app.keyengine.flows import Identity
from app.keyengine.remembered import continue_remembered, pending_change, remembers
from app.keyengine.wallets.base import WalletSigner, close_signer
from app.keyengine.wallets.passwords import password_strength
from app.keyengine.wallets.walletconnect import SignerEvent
from app.walletconnect.events import (
    Expired,
    PairingUriReady,
    Reconnecting,
    Rejected,
    RelayRefused,
    SessionApproved,
    SessionEnded,
    Step,
)

MAX_PAIRING_RENEWALS = 12
"""Automatic renewals of an expired QR code (an hour) before giving up."""


class KeysNotRemembered(KeyEngineError):
    """The keys cannot be opened without the wallet (none remembered, or a change pending)."""


class ConnectViewModel(QObject):
    connected = Signal(str)
    """Address of the account just connected and unlocked."""
    pairing_uri = Signal(str)
    """A WalletConnect pairing URI to show as QR code and link ("" clears it)."""
    countdown = Signal(int)
    """Seconds left before the current pairing URI expires."""
    wallet_status = Signal(str)
    """A line of WalletConnect progress in plain words."""
    wallet_needed = Signal(str, str, str)
    """(kind, location, address): no keys are remembered, the Connect screen asks the wallet."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.current_uri = ""
        self._expires_at = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._closing: set[asyncio.Future[None]] = set()
        context.wallet_for = self.wallet_for

    # -- returning -----------------------------------------------------------------------------

    def saved_accounts(self) -> list[SavedAccount]:
        """The remembered accounts, the last one used first (the Continue buttons)."""
        last = self.context.settings.last_account.lower()
        saved = list(reversed(self.context.settings.accounts))
        return sorted(saved, key=lambda account: account.address.lower() != last)

    async def continue_saved(self, address: str) -> str | None:
        """One click back in: keys from the keyring (no signature, no password), else the wallet."""
        saved = self._saved(address)
        if saved is None:
            return None
        try:
            remembered = remembers(self.context.engine.flows, saved.address)
        except RuntimeError:  # the engine never started (no node): the wallet path explains
            remembered = False
        if not remembered:
            self.wallet_needed.emit(saved.kind, saved.location, saved.address)
            return None

        async def work() -> str:
            self.context.operations.report_progress(self.tr("Opening your remembered keys…"))
            identity = await continue_remembered(self.context.engine.flows, saved.address)
            if identity is None:
                return ""  # a change only the wallet can open is pending: ask the wallet
            self._add(None, identity, saved)
            return identity.wallet_address

        result = await self.context.operations.run(self.tr("Opening your keys"), work)
        if result == "":
            self.wallet_needed.emit(saved.kind, saved.location, saved.address)
            return None
        return result

    def _saved(self, address: str) -> SavedAccount | None:
        for saved in self.context.settings.accounts:
            if saved.address.lower() == address.lower():
                return saved
        return None

    async def wallet_for(self, account: Account) -> PromptingSigner:
        """The account's wallet, connected now if the keys came from the keyring: a keystore
        asks its password, a JSON-RPC wallet or WalletConnect session is reached again."""
        if account.signer is not None:
            return account.signer
        saved = account.saved
        kind = SignerKind(saved.kind)
        signer: WalletSigner
        if kind is SignerKind.KEYSTORE:
            from app.keyengine.wallets.keystore import KeystoreSigner

            password = await self.context.prompter.ask_password(saved.address, saved.location)
            if password is None:
                raise asyncio.CancelledError
            signer = await KeystoreSigner.unlock(saved.location, password)
        elif kind is SignerKind.JSON_RPC:
            from app.keyengine.wallets.jsonrpc import JsonRpcSigner

            signer = await JsonRpcSigner.connect(saved.location, saved.address)
        elif kind is SignerKind.WALLETCONNECT:
            signer = await self._pair(saved.address)
        else:
            raise KeysNotRemembered(self.tr("connect this wallet on the Connect screen first"))
        if signer.address.lower() != account.address.lower():
            await close_signer(signer)
            raise WrongWallet(
                self.tr("that wallet is {0}, not {1}").format(signer.address, account.address)
            )
        account.signer = self.context.prompting(signer, kind)
        return account.signer

    # -- keystore ----------------------------------------------------------------------------

    async def connect_keystore(self, path: str, password: str) -> str | None:
        async def work() -> str:
            from app.keyengine.wallets.keystore import KeystoreSigner

            self.context.operations.report_progress(self.tr("Unlocking the keystore…"))
            signer = await KeystoreSigner.unlock(path, password)
            saved = SavedAccount(signer.address, SignerKind.KEYSTORE.value, str(Path(path)))
            return await self._login(signer, SignerKind.KEYSTORE, saved)

        return await self.context.operations.run(self.tr("Unlocking your keys"), work)

    def new_password_problem(self, path: str, password: str, repeated: str) -> str:
        """What is wrong with a new keystore's fields, in plain words ("" when nothing)."""
        if not path.strip():
            return self.tr("Choose where to save the new keystore file.")
        strength = password_strength(password, (Path(path).stem,))
        if not strength.acceptable:
            return self.tr("This password is too easy to guess ({0} of 4). {1}").format(
                strength.score, strength.advice
            )
        if password != repeated:
            return self.tr("The passwords do not match.")
        return ""

    def password_feedback(self, password: str) -> tuple[str, bool]:
        """(text, acceptable) shown live under the new password."""
        if not password:
            return "", False
        strength = password_strength(password)
        text = self.tr("Strength: {0} of 4.").format(strength.score)
        if strength.advice:
            text += " " + strength.advice
        return text, strength.acceptable

    async def create_keystore(self, path: str, password: str, repeated: str) -> str | None:
        async def work() -> str:
            from app.keyengine.wallets.keystore import KeystoreSigner, create_keystore

            problem = self.new_password_problem(path, password, repeated)
            if problem:
                raise ValueError(problem)
            self.context.operations.report_progress(self.tr("Creating the keystore…"))
            await create_keystore(path, password)
            signer = await KeystoreSigner.unlock(path, password)
            saved = SavedAccount(signer.address, SignerKind.KEYSTORE.value, str(Path(path)))
            try:
                return await self._login(signer, SignerKind.KEYSTORE, saved)
            except BaseException:
                self._drop_unused_keystore(Path(path), signer.address)
                raise

        return await self.context.operations.run(self.tr("Creating a new wallet"), work)

    def _drop_unused_keystore(self, path: Path, address: str) -> None:
        """A keystore made by this "Create and connect" whose first use failed (a declined
        signature): nothing was signed with it that was kept, so it is removed and a retry
        starts cleanly.  Kept whenever keys of it exist (remembered or pending)."""
        flows = self.context.engine.flows
        if remembers(flows, address) or pending_change(flows, address) is not None:
            return
        with contextlib.suppress(OSError):
            path.unlink()

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
        """Resume or pair through the factory; expired codes are renewed there (announced as
        ``Expired`` + a new ``PairingUriReady``), ``MAX_PAIRING_RENEWALS`` times at most."""
        settings = self.context.settings
        options = WalletConnectOptions(
            relay_url=settings.relay_url,
            project_id=settings.project_id,
            secrets=self.context.engine.secret_store,
            on_event=self.on_walletconnect_event,
            resume_address=resume_address,
            renewals=MAX_PAIRING_RENEWALS,
        )
        return await self.context.walletconnect_factory(options)

    def on_walletconnect_event(self, event: SignerEvent) -> None:
        """WalletConnect's typed events, turned into what the Connect screen shows."""
        match event:
            case PairingUriReady(uri=uri, expires_at=expires_at):
                self.current_uri = uri
                self._expires_at = float(expires_at)
                self.pairing_uri.emit(uri)
                self._ticker.start()
                self._tick()
                self.wallet_status.emit(
                    self.tr("Scan the code with your wallet, or copy the link.")
                )
            case SessionApproved(peer_name=name):
                self._clear_pairing()
                self.wallet_status.emit(self.tr("Connected to {0}.").format(name))
            case Rejected():
                self.wallet_status.emit(self.tr("The wallet declined."))
            case Expired(what=Step.PAIRING):
                self.wallet_status.emit(self.tr("The code expired; showing a new one."))
            case Expired(what=what):
                self.wallet_status.emit(self.tr("Expired: {0}.").format(str(what)))
            case SessionEnded():
                self.wallet_status.emit(self.tr("The wallet ended the session."))
            case Reconnecting():
                self.wallet_status.emit(self.tr("Reconnecting to the relay…"))
            case RelayRefused():
                self.wallet_status.emit(
                    self.tr("The relay refused this app: check the project id.")
                )
            case _:
                pass

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

    def _add(self, signer: PromptingSigner | None, identity: Identity, saved: SavedAccount) -> None:
        previous = self.context.accounts.get(identity.wallet_address)
        if previous is not None and previous.signer is not None and previous.signer is not signer:
            closing = asyncio.ensure_future(previous.signer.aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        self.context.accounts.add(Account(signer, identity, saved))
        self.context.settings.remember(saved)
        self.context.save_settings()
        self.connected.emit(identity.wallet_address)
