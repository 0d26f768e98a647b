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

PRIVATE_FILE_MODE = 0o600

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
