"""Everything one running app holds, wired once: settings, node, engine, accounts, prompts.

View-models receive this context and call only the engine flows through its services.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.companion.activity import ACTION, ActivityLog
from app.companion.bridge import FlowEventBridge
from app.companion.operation import Operations
from app.companion.qt import QObject, Signal
from app.companion.services.accounts import Account, AccountsService
from app.companion.services.engine import EngineService, SecretStoreFactory
from app.companion.services.keystore import KeystoreService
from app.companion.services.node import NodeService
from app.companion.services.pending import PendingPublisher
from app.companion.settings import Settings, SettingsStore
from app.companion.signing import PromptingSigner, SignatureRecord, SignerKind
from app.companion.views.sign_dialog import DialogPrompter, prompt_title
from app.companion.walletconnect import WalletConnectFactory, default_walletconnect_factory
from app.keyengine.texts import SignatureRequest
from app.keyengine.vault import default_secret_store
from app.keyengine.wallets.base import WalletSigner

log = logging.getLogger(__name__)


async def _no_wallet(account: Account) -> PromptingSigner:
    if account.signer is None:
        raise RuntimeError("no Connect screen to reach the wallet")
    return account.signer


@dataclass
class AppOptions:
    data_dir: Path
    node_url: str | None = None
    """``--node``: overrides the saved setting for this run (not saved)."""
    secrets: SecretStoreFactory = default_secret_store
    walletconnect: WalletConnectFactory = field(default=default_walletconnect_factory)


class AppContext(QObject):
    settings_changed = Signal()

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.data_dir = options.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.settings_store = SettingsStore(self.data_dir)
        self.settings: Settings = self.settings_store.load()
        node_url = self.settings.node_url if options.node_url is None else options.node_url
        self.activity = ActivityLog(self.data_dir)
        self.bridge = FlowEventBridge()
        self.operations = Operations()
        self.node = NodeService(self.data_dir, node_url)
        self.engine = EngineService(
            self.data_dir, self.bridge, options.secrets, remember_keys=self.settings.remember_keys
        )
        self.accounts = AccountsService()
        self.keystore = KeystoreService(self.data_dir, self.accounts, self.activity)
        self.prompter = DialogPrompter()
        self.walletconnect_factory = options.walletconnect
        self.wallet_for: Callable[[Account], Awaitable[PromptingSigner]] = _no_wallet
        """Connects an account's wallet when a signature is needed (set by the Connect screen)."""
        self.bridge.progress.connect(self.operations.report_progress)
        self.bridge.sign_requested.connect(self._waiting_for_wallet)
        self.bridge.published.connect(self._record_publish)
        self.bridge.warning.connect(self._record_warning)
        self.node.state_changed.connect(self._gate_on_node)
        self.accounts.current_changed.connect(self._gate_on_account)
        self._gate_on_account()
        self.pending = PendingPublisher(self.engine, self.accounts, self.operations, self)
        self.node.state_changed.connect(self.pending.on_node_state)
        self.operations.finished.connect(self.pending.refresh_current)
        self._steps: list[str] = []
        self.operations.started.connect(self._action_started)
        self.operations.finished.connect(self._action_finished)

    def _gate_on_account(self) -> None:
        missing = self.accounts.current is None
        self.operations.set_account_problem(
            self.tr("Connect a wallet first (Connect screen).") if missing else ""
        )

    def _gate_on_node(self, state: str, url: str) -> None:
        problem = ""
        if state == "offline":
            problem = self.tr(
                "The node at {0} is not reachable; this is enabled again when it answers."
            ).format(url)
        elif state in ("stopped", "starting"):
            problem = self.tr("The node is not running yet.")
        self.operations.set_node_problem(problem)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start (or reach) the node and open the engine on it; failures go to ``operations``."""

        async def go() -> bool:
            url = await self.node.start()
            await self.engine.configure(url)
            return True

        await self.operations.run(self.tr("Starting the XMTP node"), go, user_action=False)

    async def apply_node(self, node_url: str, remember_keys: bool) -> None:
        async def go() -> bool:
            if node_url.strip() != self.node.configured_url or not self.node.url:
                url = await self.node.restart(node_url)
            else:
                url = self.node.url
            await self.engine.configure(url, remember_keys=remember_keys)
            return True

        await self.operations.run(self.tr("Switching the node"), go)

    async def shutdown(self) -> None:
        self.operations.cancel()
        with contextlib.suppress(Exception):
            await self.keystore.stop()
        await self.pending.aclose()
        await self.lock()
        await self.engine.close()
        await self.node.stop()

    async def lock(self) -> None:
        """Drop the decrypted keys and close the wallets; "Continue" opens them again."""
        for account in self.accounts.clear():
            if account.signer is not None:
                with contextlib.suppress(Exception):
                    await account.signer.aclose()

    def save_settings(self) -> None:
        try:
            self.settings_store.save(self.settings)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)
        self.settings_changed.emit()

    # -- signing and activity --------------------------------------------------------------------

    def prompting(self, signer: WalletSigner, kind: SignerKind) -> PromptingSigner:
        return PromptingSigner(signer, kind, self.prompter, self._record_signature)

    def _action_started(self, _label: str) -> None:
        self._steps = []

    def _action_finished(self) -> None:
        """One Activity row per user action, with its account and what it took."""
        ops = self.operations
        if not ops.user_action:
            return
        error = ops.last_error
        account = self.accounts.current
        self.activity.add(
            ACTION,
            ops.label,
            self.tr("done") if error is None else error.title,
            address="" if account is None else account.address,
            text="; ".join(self._steps),
        )

    def _record_signature(self, record: SignatureRecord) -> None:
        self._steps.append(
            self.tr("{0}: {1}").format(self._purpose_text(record.purpose), record.outcome.value)
        )
        self.activity.add(
            "signature",
            self._purpose_text(record.purpose),
            record.outcome.value,
            address=record.address,
            text=record.text,
        )

    def _purpose_text(self, purpose: str) -> str:
        if purpose == "create_identity":
            return self.tr("Create your XMTP identity")
        if purpose == "enable_identity":
            return self.tr("Protect or unlock your keys")
        return purpose

    def _waiting_for_wallet(self, request: SignatureRequest) -> None:
        self.prompter.announced = request  # the engine's request knows whether it stores
        text = self.tr("waiting for your wallet: {0}").format(self.tr(prompt_title(request)))
        self.operations.report_progress(text)

    def _record_publish(self, what: str, topic: str) -> None:
        if what not in self._steps:
            self._steps.append(what)
        self.activity.add("publish", what, "published", text=topic)

    def _record_warning(self, message: str) -> None:
        account = self.accounts.current
        self.activity.add(
            "warning", message, "warning", address="" if account is None else account.address
        )
