"""Names and resource files of the desktop app (no Qt here: ``main`` needs them early).

The version and the data directory are ``app.about``'s, shared with the CLI and the engine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from app.about import APP_NAME

DISPLAY_NAME: Final = "XMTP Key Companion"
ORGANISATION: Final = APP_NAME
DESKTOP_FILE: Final = "xmtp-companion"


def resources_dir() -> Path:
    """``resources/`` (icons, stylesheet, desktop file): in the source tree, or unpacked next
    to the code inside a one-file binary (PyInstaller's ``sys._MEIPASS``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent.parent / "resources"
