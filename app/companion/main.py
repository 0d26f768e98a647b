"""Entry point of ``xmtp-companion``: options, the display check, then the Qt app.

Nothing here imports Qt until the display check has passed, so ``--help``, ``--version`` and a
missing display are answered instantly and plainly (Qt would abort with a core dump).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.about import default_data_dir, version
from app.companion.appinfo import DISPLAY_NAME

NO_DISPLAY_EXIT = 2

NO_DISPLAY_MESSAGE = """\
xmtp-companion: no graphical display found (DISPLAY and WAYLAND_DISPLAY are not set).

To run the window without a screen (tests, screenshots), set the Qt platform:
    QT_QPA_PLATFORM=offscreen xmtp-companion
To work from a terminal instead, use the command line:
    xmtp-keys --help        (or, with the one-file binary: xmtp-companion keys --help)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmtp-companion",
        description=f"{DISPLAY_NAME}: create, attest, store, rotate and verify your XMTP keys "
        "with your own Ethereum wallet.",
        epilog="The same engine is scriptable: 'xmtp-companion keys --help' (or xmtp-keys) for "
        "the command line; 'xmtp-companion --self-test' checks this installation headless.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "--node", metavar="URL", help="XMTP node to use for this run (default: embedded node)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where settings, the activity log and the embedded node live "
        f"(default: {default_data_dir()})",
    )
    return parser


def display_available(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """False on X11/Wayland systems with no display and no explicit Qt platform."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not display_available():
        sys.stderr.write(NO_DISPLAY_MESSAGE)
        return NO_DISPLAY_EXIT
    from app.companion.application import run
    from app.companion.context import AppOptions

    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    return run(AppOptions(data_dir=data_dir, node_url=args.node))


if __name__ == "__main__":
    raise SystemExit(main())
