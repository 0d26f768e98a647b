"""Names, version and file locations of the desktop app (no Qt here: ``main`` needs them early)."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Final

import platformdirs

APP_NAME: Final = "xmtp-key-companion"
"""Directory name under the user's data dir (shared with ``xmtp-keys``)."""
DISPLAY_NAME: Final = "XMTP Key Companion"
ORGANISATION: Final = "xmtp-key-companion"
DESKTOP_FILE: Final = "xmtp-companion"


def version() -> str:
    """The installed distribution's version (pyproject is the one place it is written)."""
    try:
        return metadata.version("xmtp-key-companion")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resources_dir() -> Path:
    """``resources/`` (icons, stylesheet, desktop file): in the source tree, or unpacked next
    to the code inside a one-file binary (PyInstaller's ``sys._MEIPASS``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent.parent / "resources"
