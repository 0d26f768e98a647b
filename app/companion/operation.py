"""The one helper every long piece of work goes through.

``Operations.run(label, work)`` disables the registered triggers, shows progress (the window's
progress panel listens to ``started``/``progress``/``finished``), awaits the engine coroutine on
the qasync loop, lets the person cancel it, and routes any failure to one standard place
(``failed`` with an ``Explanation``) so no view ever shows a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.companion.errors import Explanation, explain
from app.companion.qt import QObject, QWidget, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")


class Operations(QObject):
    started = Signal(str)
    progress = Signal(str)
    finished = Signal()
    failed = Signal(object)
    """An ``Explanation`` (quiet ones: declined/cancelled, shown without a dialog)."""
    busy_changed = Signal(bool)
    notice = Signal(str)
    """A line for the status bar: the latest state only (each operation's start clears it)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task: asyncio.Task[Any] | None = None
        self._triggers: list[QWidget] = []
        self._needs_node: list[QWidget] = []
        self._needs_account: list[QWidget] = []
        self.account_problem = ""
        """Why nothing can be done for an account now ("" while one is connected)."""
        self.node_problem = ""
        """Why the node cannot be used now ("" while it answers)."""
        self.label = ""
        self.user_action = False
        self.last_error: Explanation | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    def register_trigger(
        self, *widgets: QWidget, needs_node: bool = False, needs_account: bool = False
    ) -> None:
        """Widgets that start work: disabled while any operation runs, and, with ``needs_node``
        / ``needs_account``, while the node is unreachable / no wallet is connected, with the
        reason as tooltip."""
        self._triggers.extend(widgets)
        if needs_node:
            self._needs_node.extend(widgets)
        if needs_account:
            self._needs_account.extend(widgets)
        for widget in widgets:
            widget.destroyed.connect(lambda _=None, w=widget: self._forget(w))
        self._set_triggers(not self.busy)

    def _forget(self, widget: QWidget) -> None:
        self._triggers = [w for w in self._triggers if w is not widget]
        self._needs_node = [w for w in self._needs_node if w is not widget]
        self._needs_account = [w for w in self._needs_account if w is not widget]

    def set_node_problem(self, problem: str) -> None:
        """The node stopped (or started again) answering: gate the widgets that need it."""
        if problem != self.node_problem:
            self.node_problem = problem
            self._set_triggers(not self.busy)

    def set_account_problem(self, problem: str) -> None:
        """No wallet is connected ("" once one is): gate the widgets that need one."""
        if problem != self.account_problem:
            self.account_problem = problem
            self._set_triggers(not self.busy)

    def problem_of(self, widget: QWidget) -> str:
        """Why ``widget`` cannot work now, besides a running operation ("" when it can)."""
        if self.node_problem and widget in self._needs_node:
            return self.node_problem
        if self.account_problem and widget in self._needs_account:
            return self.account_problem
        return ""

    def can_start(self, widget: QWidget) -> bool:
        """Whether ``widget`` may start work now (views call it when they enable buttons)."""
        return not self.busy and not self.problem_of(widget)

    def _set_triggers(self, enabled: bool) -> None:
        for widget in self._triggers:
            problem = self.problem_of(widget)
            widget.setEnabled(enabled and not problem)
            if widget in self._needs_node or widget in self._needs_account:
                widget.setToolTip(problem)

    def report_progress(self, message: str) -> None:
        if self.busy:
            self.progress.emit(message)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def run(
        self, label: str, work: Callable[[], Awaitable[T]], *, user_action: bool = True
    ) -> T | None:
        """Run ``work()``; its result, or ``None`` when it failed or was cancelled.

        ``user_action`` work is one row of the Activity screen (not the app's own start-up)."""
        if self._task is not None:
            self.failed.emit(
                Explanation(
                    self.tr("Busy"),
                    self.tr("Please wait until “{0}” has finished.").format(self.label),
                    quiet=True,
                )
            )
            return None

        async def body() -> T:
            return await work()

        task: asyncio.Task[T] = asyncio.ensure_future(body())
        self._task = task
        self.label = label
        self.user_action = user_action
        self.last_error = None
        self._set_triggers(False)
        self.busy_changed.emit(True)
        self.started.emit(label)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our own caller is being cancelled (shutdown): let it through
            self._fail(asyncio.CancelledError())
        except Exception as exc:
            log.info("%s failed: %s: %s", label, type(exc).__name__, exc)
            self._fail(exc)
        finally:
            self._task = None
            self._set_triggers(True)
            self.busy_changed.emit(False)
            self.finished.emit()
        return None

    def _fail(self, error: BaseException) -> None:
        self.last_error = explain(error)
        self.failed.emit(self.last_error)
