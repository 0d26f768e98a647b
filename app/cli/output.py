"""How ``xmtp-keys`` talks back: JSON reports on stdout, one plain error line on stderr."""

from __future__ import annotations

import json
import re
import sys
from typing import Final, TextIO

PROG: Final = "xmtp-keys"

Report = dict[str, object]
"""A JSON object as the commands print it (only JSON-serialisable values inside)."""

# Any run of 64 or more hex digits is longer than an address (40) and could be a private key
# (64) or a secret; error lines never need one, so it is masked as a last line of defence.
_LONG_HEX: Final = re.compile(r"(?:0x)?[0-9a-fA-F]{64,}")


class CliError(Exception):
    """A problem with the user's input or files, reported as one line and exit code 2.

    ``exit_code`` names a more precise outcome where there is one (``app.cli.exit_codes``).
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(report: Report, stream: TextIO | None = None) -> None:
    """Pretty-printed JSON, the output of every command (``--json`` or not)."""
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(report, indent=2) + "\n")


def error_line(message: str) -> str:
    """``xmtp-keys: error: <message>`` on one line, with long hex runs masked."""
    flat = " ".join(str(message).split()) or "unknown error"
    return f"{PROG}: error: {_LONG_HEX.sub('[redacted]', flat)}"


def print_error(message: str, stream: TextIO | None = None) -> None:
    err = sys.stderr if stream is None else stream
    err.write(error_line(message) + "\n")
