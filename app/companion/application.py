"""The QApplication (name, icon, stylesheet, high-DPI) and its qasync loop."""

from __future__ import annotations

import asyncio
import logging
import sys

from app.about import version
from app.companion.appinfo import DESKTOP_FILE, DISPLAY_NAME, ORGANISATION, resources_dir
from app.companion.context import AppContext, AppOptions
from app.companion.qt import QApplication, QEventLoop, QGuiApplication, QIcon, Qt
from app.companion.single_instance import SingleInstance
from app.companion.views.main_window import MainWindow

log = logging.getLogger(__name__)

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    icon = QIcon()
    base = resources_dir()
    for size in ICON_SIZES:
        png = base / "icons" / f"xmtp-companion-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    svg = base / "xmtp-companion.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon


def stylesheet() -> str:
    """The small stylesheet in resources/ (palette-relative; empty if missing)."""
    try:
        return (resources_dir() / "companion.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv if argv is not None else sys.argv[:1])
    configure_application(app)
    return app


def configure_application(app: QApplication) -> None:
    app.setApplicationName(DISPLAY_NAME)
    app.setApplicationDisplayName(DISPLAY_NAME)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationVersion(version())
    app.setDesktopFileName(DESKTOP_FILE)
    app.setWindowIcon(app_icon())
    app.setStyleSheet(stylesheet())


def run(options: AppOptions) -> int:
    """Show the window and run until it is closed; then shut the node and wallets down."""
    app = create_application()
    instance = SingleInstance(options.data_dir)
    if instance.forward_to_running():
        return 0  # the running app on this data directory comes to the front instead
    instance.listen()
    app.setQuitOnLastWindowClosed(False)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    context = AppContext(options)
    window = MainWindow(context)
    instance.activated.connect(window.bring_to_front)
    closed: asyncio.Future[None] = loop.create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    app.lastWindowClosed.connect(on_closed)

    async def lifetime() -> None:
        window.show()
        await context.start()
        await closed
        window.hide()
        await context.shutdown()
        instance.close()

    with loop:
        loop.run_until_complete(lifetime())
    return 0
