"""What this program is called, its version, and where it keeps its data: written once.

The engine (network user agent, keyring service name), the node, the CLI and the desktop app
all read these; the version comes from the installed distribution's metadata, so pyproject is
the one place it is written.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Final

import platformdirs

APP_NAME: Final = "xmtp-key-companion"
"""Distribution name, directory name under the user's data dir, keyring service name."""


def version() -> str:
    """The installed distribution's version (``0+unknown`` when run from a bare checkout)."""
    try:
        return metadata.version(APP_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_data_dir() -> Path:
    """The user's data directory for the app (shared by the CLI, the desktop app and the node)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
