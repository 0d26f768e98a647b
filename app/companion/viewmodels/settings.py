"""Node (embedded or URL, with live status), WalletConnect relay and project id, remember keys."""

from __future__ import annotations

from app.companion.context import AppContext
from app.companion.errors import explain
from app.companion.qt import QObject, Signal


class SettingsViewModel(QObject):
    node_status = Signal(str, str)
    """(state, text) of the node, live."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        context.node.state_changed.connect(self._on_node)

    def _on_node(self, state: str, url: str) -> None:
        texts = {
            "stopped": self.tr("Stopped"),
            "starting": self.tr("Starting…"),
            "online": self.tr("Online at {0}").format(url),
            "offline": self.tr("Not reachable at {0}").format(url),
        }
        self.node_status.emit(state, texts.get(state, state))

    @property
    def node_url(self) -> str:
        return self.context.node.configured_url

    @property
    def relay_url(self) -> str:
        return self.context.settings.relay_url

    @property
    def project_id(self) -> str:
        return self.context.settings.project_id

    @property
    def remember_keys(self) -> bool:
        return self.context.engine.remember_keys

    @property
    def keys_kept(self) -> str:
        return self.context.engine.keys_kept

    @property
    def keyring_problem(self) -> str:
        return self.context.engine.keyring_problem

    @property
    def auto_lock_minutes(self) -> int:
        return self.context.settings.auto_lock_minutes

    async def apply(
        self,
        *,
        embedded: bool,
        node_url: str,
        relay_url: str,
        project_id: str,
        remember: bool,
        auto_lock_minutes: int = 0,
    ) -> None:
        settings = self.context.settings
        url = "" if embedded else node_url.strip()
        if not embedded and not url.startswith(("http://", "https://")):
            problem = ValueError(self.tr("the node URL must start with http:// or https://"))
            self.context.operations.failed.emit(explain(problem))
            return
        settings.node_url = url
        settings.relay_url = relay_url.strip() or settings.relay_url
        settings.project_id = project_id.strip()
        settings.remember_keys = remember
        settings.auto_lock_minutes = max(0, auto_lock_minutes)
        self.context.save_settings()
        await self.context.apply_node(url, remember)

    async def check_node(self) -> bool:
        return await self.context.node.check()
