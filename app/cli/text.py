"""Text for a person: aligned tables, local ISO-8601 times and key fingerprints.

Without ``--json`` every command prints sentences and tables built from these few pieces, so
times, keys and columns look the same in every command.  Keys are shown by their fingerprint,
the same one the desktop app shows (``app.keyengine.fingerprints``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final, TextIO

from app.keyengine.errors import InvalidKey
from app.keyengine.fingerprints import key_fingerprint

NS_PER_S: Final = 1_000_000_000
CURRENT_MARK: Final = "*"


def local_time(ns: int | None) -> str:
    """``ns`` since the epoch as ISO-8601 in the local time zone, to the second."""
    if ns is None:
        return "unknown"
    try:
        moment = datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).astimezone()
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns since 1970 (not a valid date)"
    return moment.isoformat(timespec="seconds")


def fingerprint(point: bytes) -> str:
    """The fingerprint of an uncompressed public point, as every front end shows it (bytes
    that are not a key, in a damaged artefact, are said to be so rather than fingerprinted)."""
    try:
        return key_fingerprint(point)
    except InvalidKey:
        return "(not a valid public key)"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ") -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell (header included)."""
    body = [list(row) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)]
        return (indent + "  ".join(padded)).rstrip()

    return [line(headers), *(line(row) for row in body)]


def fields(pairs: Iterable[tuple[str, str]], indent: str = "  ") -> list[str]:
    """``label  value`` lines with the values aligned."""
    items = list(pairs)
    width = max((len(label) for label, _ in items), default=0)
    return [f"{indent}{label.ljust(width)}  {value}".rstrip() for label, value in items]


def pre_key_rows(pre_keys: Sequence[tuple[bytes, int]]) -> list[str]:
    """The pre-key table (newest first, the current one marked) with its legend."""
    rows = [
        (CURRENT_MARK if index == 0 else "", local_time(created), fingerprint(point))
        for index, (point, created) in enumerate(pre_keys)
    ]
    if not rows:
        return ["  (no pre-key)"]
    lines = table(("", "created", "fingerprint"), rows)
    return [*lines, f"  {CURRENT_MARK} the current pre-key: the one others use to reach you"]


def write_lines(lines: Iterable[str], stream: TextIO | None = None) -> None:
    out = sys.stdout if stream is None else stream
    out.write("".join(f"{line}\n" for line in lines))
