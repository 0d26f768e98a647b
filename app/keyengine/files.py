"""Local files: permission-first atomic writes (journals, exported keys), and bounded reads.

Every file the user names as input (keystore, key file, password file, backup, artefact) is
read with ``read_regular_file``: a named pipe, device or socket would block a plain ``open``
or ``read`` forever (or never end), so it is refused without waiting.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotARegularFile(OSError):
    """An input path names a pipe, device, socket or directory instead of a file."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", str(path))


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of the regular file ``path`` (callers test the length).

    Opened non-blocking and checked with ``fstat`` before reading: a FIFO without a writer or
    a device is refused at once (``NotARegularFile``, an ``OSError``) instead of blocking.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a file")
            raise NotARegularFile(path, kind)
        with contextlib.suppress(OSError):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(max_bytes + 1)
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
