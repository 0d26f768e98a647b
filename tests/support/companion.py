"""Driving the desktop app in GUI tests like a person: run coroutines, click, answer prompts.

Imported by ``tests/gui`` (whose ``conftest.py`` holds only the fixtures).  Qt is imported
inside the methods, so importing this module does not need a display.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class Runner:
    """Run a coroutine on the qasync loop while pytest-qt pumps Qt (and so asyncio)."""

    def __init__(self, qtbot: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.qtbot = qtbot
        self.loop = loop

    def start(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        return asyncio.ensure_future(coro, loop=self.loop)

    def wait(self, future: asyncio.Future[T], timeout: float = 30.0) -> T:
        self.qtbot.waitUntil(future.done, timeout=int(timeout * 1000))
        return future.result()

    def __call__(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        return self.wait(self.start(coro), timeout)


@dataclass(frozen=True)
class Prompt:
    """What a signature prompt showed (the dialog itself is deleted once answered)."""

    title: str
    request: Any
    text: str
    account: str
    key_hex: str


@dataclass
class App:
    """A running companion: its context, window and helpers to drive it like a person."""

    context: Any
    window: Any
    run: Runner
    qtbot: Any
    prompts: list[Any]
    answered: int = 0

    @property
    def ops(self) -> Any:
        return self.context.operations

    def __post_init__(self) -> None:
        self.started = 0
        self.expected = 0
        self.ops.started.connect(self._started)

    def _started(self, _label: str) -> None:
        self.started += 1

    def click(self, widget: Any) -> None:
        """Click a widget that starts an operation (``wait_idle`` then waits for its end)."""
        from app.companion.qt import Qt

        self.expected = self.started + 1
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the operation started by the last ``click`` has finished."""
        self.qtbot.waitUntil(
            lambda: self.started >= self.expected and not self.ops.busy,
            timeout=int(timeout * 1000),
        )

    def answer(self, approve: bool = True, timeout: float = 20.0) -> Any:
        """Wait for the next signature prompt and click Approve (or Reject)."""
        from app.companion.qt import Qt

        prompter = self.context.prompter
        index = self.answered

        def shown() -> bool:
            assert self.ops.busy, f"no prompt: the operation ended with {self.ops.last_error}"
            return len(self.prompts) > index and prompter.current is self.prompts[index]

        self.qtbot.waitUntil(shown, timeout=int(timeout * 1000))
        self.answered += 1
        dialog = prompter.current
        assert dialog.isVisible()
        seen_prompt = Prompt(
            dialog.windowTitle(),
            dialog.request,
            dialog.text_box.toPlainText(),
            dialog.account_field.text(),
            dialog.key_field.text(),
        )
        target = dialog.approve_button if approve else dialog.reject_button
        self.qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
        self.qtbot.waitUntil(lambda: prompter.current is not dialog, timeout=5000)
        return seen_prompt

    def unlock_keystore(self, path: Path, password: str) -> None:
        view = self.window.screens.connect
        view.keystore_path.setText(str(path))
        view.keystore_password.setText(password)
        self.click(view.unlock_button)

    def shutdown(self) -> None:
        self.run(self.context.shutdown(), timeout=30)


AppFactory = Callable[..., App]
