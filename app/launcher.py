"""One entry point for the whole product (and the one-file binary).

``xmtp-companion``                the desktop app
``xmtp-companion keys …``         the ``xmtp-keys`` command line
``xmtp-companion --self-test``    check that this build works, headless
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # In the one-file binary, the keystore KDF's child process (multiprocessing "spawn") starts
    # this same executable: PyInstaller's freeze_support runs the child's work and exits.
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["keys"]:
        from app.cli.main import main as keys_main

        return keys_main(args[1:])
    if args[:1] == ["--self-test"]:
        from app.selftest import run

        return run()
    if args[:1] == ["--measure-startup"]:
        return _measure_startup()
    from app.companion.main import main as companion_main

    return companion_main(args)


def _measure_startup() -> int:
    """(For ``make bench``.) Print the ms from ``$XMTP_STARTUP_T0`` (wall clock at launch) until
    the main window is shown and the event loop has gone idle once, offscreen, then exit."""
    import os
    import tempfile
    import time
    from pathlib import Path

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.companion.application import create_application
    from app.companion.context import AppContext, AppOptions
    from app.companion.qt import QTimer
    from app.companion.views.main_window import MainWindow

    t0 = float(os.environ.get("XMTP_STARTUP_T0", time.time()))
    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        options = AppOptions(
            data_dir=Path(tmp), node_url="http://127.0.0.1:9", secrets=lambda: None
        )
        window = MainWindow(AppContext(options))
        window.show()

        def idle() -> None:
            print(f"{(time.time() - t0) * 1000:.1f}")
            app.quit()

        QTimer.singleShot(0, idle)
        app.exec()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
