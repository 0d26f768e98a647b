"""GUI tests: pytest-qt, offscreen, on a qasync loop, with the real engine, node and signers.

They run in their own pytest invocation, without pytest-asyncio (two loop managers in one
session break each other, see shared/design.md)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q tests/gui -p no:asyncio

``make unit`` runs both invocations.  A plain ``pytest`` (pytest-asyncio loaded) skips this
directory at collection (``pytest_ignore_collect`` below) instead of failing in it, and
``test_collection.py`` reports the whole directory as one skip whose reason names the command.
The helpers that drive the app (``App``, ``Runner``) are in ``tests/support/companion.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from tests.support.companion import App, AppFactory, Runner
from tests.support.node import RunningNode


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
    """The URL of one real node (a ``RunningNode``) for the whole session: tests that do not
    stop their node share it, each with a fresh account."""
    with RunningNode(tmp_path_factory.mktemp("node") / "node.sqlite3") as node:
        yield node.url


@pytest.fixture
def run(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Runner:
    return Runner(qtbot, qloop)


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
            # a callable is a real store factory (the OS keyring); otherwise memory or none
            secrets=secrets_store if callable(secrets_store) else lambda: store,
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
