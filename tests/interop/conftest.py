"""Interop fixtures: one real xmtp-js 13.0.4 driver process for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.jsdriver import XmtpJs, driver_available


@pytest.fixture(scope="session")
def js() -> Iterator[XmtpJs]:
    if not driver_available():
        pytest.fail("xmtp-js driver not installed: run `make node-deps` (make test does it)")
    with XmtpJs() as driver:
        assert driver.call("ping")["version"] == "13.0.4"
        yield driver
