"""Permission-first, atomic writes for local files (journals, exported keys, settings)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700
TEMP_SUFFIX: Final = ".tmp"
"""Suffix of the temporary files ``write_private_file`` renames into place."""


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parent owner-only (0700), or tighten it to 0700.

    ``Path.mkdir(parents=True, mode=...)`` gives the parents the default mode (and passes
    through the umask); here every directory this call creates is 0700 from the start.  An
    existing directory is tightened when it is ours and not shared: someone else's directory,
    or a sticky one like ``/tmp``, is left as it is.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=PRIVATE_DIR_MODE)
    info = directory.stat()
    if info.st_uid == os.getuid() and not info.st_mode & 0o1000 and info.st_mode & 0o077:
        directory.chmod(PRIVATE_DIR_MODE)


def fsync_directory(directory: Path) -> None:
    """Make a rename or link inside ``directory`` durable (best effort: not every OS can)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, readable by its owner only from the first byte.

    A temporary file in the same directory is created 0600, filled and fsynced, renamed over
    ``path`` (``os.replace``) and the directory fsynced: a crash leaves the old file or the
    complete new one, never a partial or world-readable one (a stray temporary file at most,
    named ``.<name>.*.tmp``).
    """
    directory = path.parent
    make_private_dir(directory)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(temp_name, PRIVATE_FILE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(directory)
