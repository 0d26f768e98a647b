"""GUI tests: pytest-qt, offscreen, on a qasync loop, with the real engine, node and signers.

They run in their own pytest invocation, without pytest-asyncio (two loop managers in one
session break each other, see shared/design.md)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q tests/gui -p no:asyncio

``make unit`` runs both invocations.  A plain ``pytest`` (pytest-asyncio loaded) skips this
directory at collection (``pytest_ignore_collect`` below) instead of failing in it, and
``test_collection.py`` reports the whole directory as one skip whose reason names the command.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

T = TypeVar("T")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under pytest-asyncio only ``test_collection.py`` is collected: it reports the skip."""
    if config.pluginmanager.has_plugin("asyncio") and collection_path.name != "test_collection.py":
        return True
    return None


@pytest.fixture(scope="session")
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """One qasync loop for the whole session, integrated with the running Qt event loop."""
    from app.companion.qt import QEventLoop

    loop = QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    loop.stop()
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(scope="session")
def shared_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real node (embedded, on loopback) for tests that do not stop it."""
    from app.xmtpnode.embedded import EmbeddedNode

    with EmbeddedNode(db_path=tmp_path_factory.mktemp("node") / "node.sqlite3") as node:
        assert node.url is not None
        yield node.url


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


@pytest.fixture
def run(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Runner:
    return Runner(qtbot, qloop)


PASSWORD = "correct horse"


def make_keystore(directory: Path, password: str = PASSWORD) -> tuple[Path, str]:
    """A real V3 keystore made with eth-account (scrypt with a small n, for speed)."""
    from eth_account import Account

    key = secrets.token_bytes(32)
    document = Account.encrypt(key, password, kdf="scrypt", iterations=1 << 10)
    path = directory / f"UTC--{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(document))
    return path, Account.from_key(key).address


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


@pytest.fixture
def make_app(qtbot: Any, run: Runner, tmp_path: Path, shared_node: str) -> Iterator[AppFactory]:
    from app.companion.context import AppContext, AppOptions
    from app.companion.views.main_window import MainWindow
    from app.keyengine.vault import MemoryStore

    started: list[App] = []
    stores: dict[Path, MemoryStore] = {}

    def factory(
        data_dir: Path | None = None,
        *,
        node_url: str | None = "shared",
        secrets_store: Any = "memory",
        walletconnect: Any = None,
    ) -> App:
        directory = data_dir or tmp_path / f"data{len(started)}"
        store = stores.setdefault(directory, MemoryStore()) if secrets_store == "memory" else None
        options = AppOptions(
            data_dir=directory,
            node_url=shared_node if node_url == "shared" else node_url,
            secrets=lambda: store,
        )
        if walletconnect is not None:
            options.walletconnect = walletconnect
        context = AppContext(options)
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        prompts: list[Any] = []
        context.prompter.shown.connect(prompts.append)
        app = App(context, window, run, qtbot, prompts)
        run(context.start())
        started.append(app)
        return app

    yield factory
    for app in started:
        app.shutdown()
