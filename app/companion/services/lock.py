"""Lock: drop the decrypted keys from memory, now or after an idle time chosen in Settings.

Unlocking again is the same one-click "Continue" on the Connect screen (keys remembered in the
keyring), or the wallet when they are not.  Idle means no key press, click or wheel in any of
the app's windows; the timer is off by default (``Settings.auto_lock_minutes == 0``).
"""

from __future__ import annotations

import asyncio

from app.companion.context import AppContext
from app.companion.qt import QApplication, QEvent, QObject, QTimer, Signal

ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class AutoLock(QObject):
    locked = Signal(str)
    """Why the keys were just dropped (for the status bar)."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._idle)
        self._task: asyncio.Future[None] | None = None
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        context.settings_changed.connect(self.restart)
        context.accounts.changed.connect(self.restart)
        self.restart()

    @property
    def minutes(self) -> int:
        return self.context.settings.auto_lock_minutes

    def restart(self) -> None:
        """(Re)arm the idle timer while keys are open and auto-lock is on."""
        if self.minutes > 0 and self.context.accounts.accounts:
            self.timer.start(self.minutes * 60_000)
        else:
            self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in ACTIVITY_EVENTS and self.timer.isActive():
            self.timer.start()
        return False

    def lock_now(self, reason: str = "") -> None:
        if self._task is not None and not self._task.done():
            return
        self.timer.stop()
        self.context.operations.cancel()
        self._task = asyncio.ensure_future(self._lock(reason or self.tr("Locked.")))

    async def _lock(self, reason: str) -> None:
        await self.context.lock()
        self.locked.emit(reason)

    def _idle(self) -> None:
        self.lock_now(
            self.tr("Locked after {0} minute(s) without use; Continue opens your keys.").format(
                self.minutes
            )
        )
