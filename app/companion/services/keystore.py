"""The keystore the app serves to XMTP apps while it is unlocked (the Apps screen drives it).

The keys served are always those of the account the window shows, read at each call, so a
rotation on the Pre-keys screen is served at once; with no account connected every call answers
503 ``locked``.  Each call is recorded in Activity (app, method, item count; never contents),
and each key export stands out there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.companion.activity import ActivityLog
from app.companion.qt import QObject, Signal
from app.companion.services.accounts import AccountsService
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service import (
    EXPORT_METHOD,
    AppRegistry,
    CallRecord,
    KeystoreMethods,
    KeystoreServer,
)

log = logging.getLogger(__name__)


class KeystoreService(QObject):
    state_changed = Signal()
    """Serving started or stopped."""
    called = Signal(str, str)
    """An app (name) called a method."""

    def __init__(
        self,
        data_dir: Path,
        accounts: AccountsService,
        activity: ActivityLog,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.directory = data_dir / "keystore"
        self.accounts = accounts
        self.activity = activity
        self.registry = AppRegistry(self.directory)
        self._server: KeystoreServer | None = None

    def current_bundle(self) -> PrivateKeyBundleV1 | None:
        account = self.accounts.current
        return None if account is None else account.identity.bundle

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return "" if self._server is None else self._server.url

    async def start(self, port: int = 0) -> str:
        if self._server is not None:
            return self._server.url
        methods = KeystoreMethods(self.current_bundle, self.directory / "state")
        server = KeystoreServer(
            methods, self.registry, port=port, on_call=self._record, offload=True
        )
        await server.start()
        self._server = server
        self.state_changed.emit()
        return server.url

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
            self.state_changed.emit()

    def _record(self, call: CallRecord) -> None:
        if call.method == EXPORT_METHOD and call.status == 200:
            summary = self.tr("Key export by app {0}").format(call.app)
        else:
            summary = self.tr("{0}: {1}").format(call.app, call.method)
        account = self.accounts.current
        self.activity.add(
            "keystore",
            summary,
            str(call.status),
            address="" if account is None else account.address,
            text=self.tr("{0} item(s)").format(call.items),
        )
        self.called.emit(call.app, call.method)
