"""Permission-first, atomic writes for local files (journals, exported keys)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` 0700, or tighten it to 0700 if it is ours and not shared.

    ``mkdir``'s mode only applies to a directory it creates (and passes through the umask), so
    an existing data directory is checked too; someone else's directory, or a sticky one like
    ``/tmp``, is left as it is.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    info = directory.stat()
    if info.st_uid == os.getuid() and not info.st_mode & 0o1000 and info.st_mode & 0o077:
        directory.chmod(PRIVATE_DIR_MODE)


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, readable by its owner only from the first byte.

    A temporary file in the same directory is created 0600, filled and fsynced, renamed over
    ``path`` (``os.replace``) and the directory fsynced: a crash leaves the old file or the
    complete new one, never a partial or world-readable one.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
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
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
