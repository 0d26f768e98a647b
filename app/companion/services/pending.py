"""Keeping the screens in step with the keys: pending work published, refreshes on cue.

Work signed while the node was unreachable is published by the app when the node answers.

The engine journals what a flow signed but could not send (``app.keyengine.journal``); sending
it needs no signature (``app.keyengine.remembered.publish_pending``).  This service does that for
every connected account as soon as the node is online again, then refreshes the screens, so the
Pre-keys and Lookup screens agree without a restart or a later login.

``refresh_current`` (on connect, after every action, when the window is focused again) takes
what changed the keys elsewhere: pre-keys the CLI saved in the keyring, and it tells the person
when the node publishes a pre-key from another machine (only the wallet can open those).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.companion.operation import Operations
from app.companion.qt import QObject, Signal
from app.companion.services.accounts import AccountsService
from app.companion.services.engine import EngineService
from app.keyengine.errors import KeyEngineError
from app.keyengine.remembered import pending_change, publish_pending, refresh

log = logging.getLogger(__name__)


class PendingPublisher(QObject):
    published = Signal(str)
    """Address whose pending change just reached the node."""

    def __init__(
        self,
        engine: EngineService,
        accounts: AccountsService,
        operations: Operations,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.accounts = accounts
        self.operations = operations
        self._task: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self.refreshes = 0
        """Refreshes finished (tests wait on it)."""

    def is_pending(self, address: str) -> bool:
        try:
            return pending_change(self.engine.flows, address) is not None
        except RuntimeError:  # the engine is not configured yet
            return False

    def on_node_state(self, state: str, _url: str) -> None:
        if state != "online" or (self._task is not None and not self._task.done()):
            return
        if any(self.is_pending(account.address) for account in self.accounts.accounts):
            self._task = asyncio.ensure_future(self.publish_all())

    def refresh_current(self, *_args: object) -> None:
        """Start a refresh of the account shown (one at a time, never during an operation)."""
        if self.operations.busy or self.accounts.current is None:
            return
        if self._refreshing is not None and not self._refreshing.done():
            return
        self._refreshing = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        account = self.accounts.current
        if account is None:
            return
        try:
            seen = await refresh(self.engine.flows, account.identity)
        except (KeyEngineError, RuntimeError) as exc:
            log.info("refresh of %s failed: %s", account.address, exc)
            return
        finally:
            self.refreshes += 1
        if self.accounts.get(account.address) is not account:
            return  # locked or removed meanwhile
        if seen.identity.bundle != account.identity.bundle:
            self.accounts.update_identity(account, seen.identity)
        if seen.changed_elsewhere:
            self.operations.notice.emit(
                self.tr(
                    "The keys of {0} were changed on another machine: connect the wallet "
                    "(Accounts, Connect again with the wallet) to load them."
                ).format(account.address)
            )

    async def aclose(self) -> None:
        """Stop background work (shutdown, before the engine's client closes)."""
        for task in (self._task, self._refreshing):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def publish_all(self) -> None:
        """Publish every connected account's pending change; quietly retried on the next
        "online" if the node drops again meanwhile."""
        for account in self.accounts.accounts:
            if not self.is_pending(account.address):
                continue
            try:
                done = await publish_pending(self.engine.flows, account.identity)
            except KeyEngineError as exc:
                log.info("pending change of %s not published: %s", account.address, exc)
                continue
            if done:
                self.accounts.update_identity(account, account.identity)
                self.published.emit(account.address)
                self.operations.notice.emit(
                    self.tr(
                        "Published what was signed while the node was unreachable ({0})."
                    ).format(account.address)
                )
