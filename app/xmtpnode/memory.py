"""Give freed memory back to the operating system, so the node's size falls after a burst.

glibc serves large allocations (a 1 MB envelope, a 1.4 MB JSON line) with ``mmap`` and returns
them on ``free`` — until the first such free, after which it raises its mmap threshold
dynamically and serves them from the heap, where freed memory stays with the process.  A
node that held 4 GB for four slow subscribers then kept 4 GB after they left.  Pinning the
threshold (``mallopt(M_MMAP_THRESHOLD)``) turns the adjustment off.  Elsewhere (musl, macOS)
this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Final

_M_MMAP_THRESHOLD: Final = -3
MMAP_THRESHOLD_BYTES: Final = 128 * 1024

log = logging.getLogger(__name__)


def return_freed_memory_promptly() -> bool:
    """Pin glibc's mmap threshold; True if it was set (the process is the node's own)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
