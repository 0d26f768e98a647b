"""The XMTP node the app talks to: embedded (default) or a URL, with a live status."""

from __future__ import annotations

import asyncio
import enum
import logging
from pathlib import Path

from app.companion.qt import QObject, QTimer, Signal, async_slot
from app.keyengine.network import NetworkError, NodeUnreachable, QuerySpec, XmtpClient
from app.keyengine.topics import contact_topic

log = logging.getLogger(__name__)

_PROBE_ADDRESS = "0x" + "00" * 20
STATUS_INTERVAL_MS = 10_000


class NodeState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"


class NodeService(QObject):
    """Starts the embedded node (SQLite in the data dir) unless a node URL is configured."""

    state_changed = Signal(str, str)
    """(state, url)"""

    def __init__(self, data_dir: Path, node_url: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.configured_url = node_url.strip()
        self.url = ""
        self.state = NodeState.STOPPED
        self._embedded: object | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer)

    @property
    def embedded(self) -> bool:
        return not self.configured_url

    def _set_state(self, state: NodeState) -> None:
        self.state = state
        self.state_changed.emit(state.value, self.url)

    async def start(self) -> str:
        """Start (or point at) the node; return its URL.  Errors propagate (typed)."""
        self._set_state(NodeState.STARTING)
        if self.configured_url:
            self.url = self.configured_url
        else:
            from app.xmtpnode.embedded import EmbeddedNode

            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            node = EmbeddedNode(db_path=self.data_dir / "node.sqlite3")
            try:
                self.url = await asyncio.to_thread(node.start)
            except BaseException:
                self._set_state(NodeState.STOPPED)
                raise
            self._embedded = node
        self._timer.start()
        await self.check()
        return self.url

    async def stop(self) -> None:
        self._timer.stop()
        node, self._embedded = self._embedded, None
        if node is not None:
            await asyncio.to_thread(node.stop)  # type: ignore[attr-defined]
            self.url = ""
        self._set_state(NodeState.STOPPED)

    async def restart(self, node_url: str) -> str:
        await self.stop()
        self.configured_url = node_url.strip()
        return await self.start()

    async def check(self) -> bool:
        """Ask the node a trivial question; reachable means it answered at all."""
        if not self.url:
            self._set_state(NodeState.STOPPED)
            return False
        try:
            async with XmtpClient(self.url, retries=0, timeout_s=3.0) as client:
                await client.query(QuerySpec(contact_topic(_PROBE_ADDRESS), limit=1))
        except NodeUnreachable:
            self._set_state(NodeState.OFFLINE)
            return False
        except NetworkError as exc:
            log.info("node answered the probe with an error: %s", exc)
        self._set_state(NodeState.ONLINE)
        return True

    @async_slot()
    async def _on_timer(self) -> None:
        await self.check()
