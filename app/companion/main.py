"""Entry point of ``xmtp-companion``.

The Qt window arrives with the desktop-app issue; until then this says so plainly and points at
the command line, instead of failing with an import error.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    del argv
    print(
        "XMTP Key Companion: the desktop window is not built yet.\n"
        "Use the command line meanwhile:  xmtp-keys --help",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
