"""The GUI suite runs only in its own invocation (see conftest)."""

from __future__ import annotations


def test_runs_without_pytest_asyncio(pytestconfig: object) -> None:
    assert not pytestconfig.pluginmanager.has_plugin("asyncio")  # type: ignore[attr-defined]
