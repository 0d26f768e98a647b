"""The GUI suite runs only in its own invocation (see conftest).

Under a plain ``pytest`` (pytest-asyncio loaded) this module is the only one collected in
``tests/gui``, and it reports the whole directory as skipped with the command that runs it, so
nothing is left out silently.
"""

from __future__ import annotations

import pytest

GUI_COMMAND = "QT_QPA_PLATFORM=offscreen python -m pytest tests/gui -p no:asyncio (or: make unit)"


def test_runs_without_pytest_asyncio(pytestconfig: pytest.Config) -> None:
    if pytestconfig.pluginmanager.has_plugin("asyncio"):
        pytest.skip(f"tests/gui: desktop-app tests run in their own invocation: {GUI_COMMAND}")
    assert not pytestconfig.pluginmanager.has_plugin("asyncio")
