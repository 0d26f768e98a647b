"""Work signed while the node was unreachable is published by the app when the node answers.

The engine journals what a flow signed but could not send (``app.keyengine.journal``); sending
it needs no signature (``app.keyengine.remembered.publish_pending``).  This service does that for
every connected account as soon as the node is online again, then refreshes the screens, so the
Pre-keys and Lookup screens agree without a restart or a later login.
"""

from __future__ import annotations

import asyncio
import logging

from app.companion.operation import Operations
from app.companion.qt import QObject, Signal
from app.companion.services.accounts import AccountsService
from app.companion.services.engine import EngineService
from app.keyengine.errors import KeyEngineError
from app.keyengine.remembered import pending_change, publish_pending

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
