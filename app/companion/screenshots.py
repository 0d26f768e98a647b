"""Render every screen into PNG files (``make screenshots``, under Xvfb; offscreen works too).

A throw-away data dir, the embedded node and two raw-key wallets: the script connects, approves
its prompts, rotates, looks up, and grabs each screen (and the signature prompt) at the default
window size in the light palette, then again in a dark one; the WalletConnect pairing screen
also at the minimum window size.  Under a real X server the pictures are taken from the screen
(``QScreen.grabWindow``), as a person sees the window; offscreen, the widgets render themselves.

``--only walletconnect`` renders just the pairing screens (the QR decoding test uses it).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from app.companion.application import create_application
from app.companion.context import AppContext, AppOptions
from app.companion.qt import QApplication, QColor, QEventLoop, QPalette, QStyleFactory, QWidget
from app.companion.signing import SignerKind
from app.companion.views.main_window import DEFAULT_SIZE, MINIMUM_SIZE, MainWindow
from app.companion.views.sign_dialog import SignDialog
from app.keyengine.vault import MemoryStore
from app.keyengine.wallets import RawKeySigner
from app.walletconnect.events import PairingUriReady

WALLETS = (bytes.fromhex("5e" * 32), bytes.fromhex("7a" * 32))
SAMPLE_PAIRING_URI = (
    "wc:" + "4f" * 32 + "@2?relay-protocol=irn&symKey=" + "9c" * 32 + "&expiryTimestamp=1767225600"
)
"""The pairing URI the WalletConnect screenshots show (no relay is contacted)."""
SCREENS = (
    "connect",
    "identity",
    "prekeys",
    "lookup",
    "invites",
    "activity",
    "backup",
    "accounts",
    "settings",
)


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#202326",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#16181a",
        QPalette.ColorRole.AlternateBase: "#26292d",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2c3034",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2c3034",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8f95",
        QPalette.ColorRole.Mid: "#4a4f55",
        QPalette.ColorRole.Link: "#7fb2ff",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    return palette


async def settle(app: QApplication, seconds: float = 0.2) -> None:
    """Let Qt paint: the qasync loop runs Qt's events while this coroutine sleeps (calling
    ``processEvents`` here would run other tasks inside this one)."""
    del app
    await asyncio.sleep(seconds)


def grab(widget: QWidget, path: Path) -> None:
    """The window as it is on the screen (real X server), else as the widget renders itself."""
    app = QApplication.instance()
    screen = widget.screen()
    real = isinstance(app, QApplication) and app.platformName() not in ("offscreen", "minimal")
    picture = screen.grabWindow(widget.winId()) if real and screen is not None else None
    if picture is None or picture.isNull():
        picture = widget.grab()
    picture.save(str(path))
    print(path)


async def shoot_walletconnect(
    app: QApplication, window: MainWindow, out: Path, suffix: str, *, minimum: bool
) -> None:
    """The pairing screen with ``SAMPLE_PAIRING_URI``, at the default (and minimum) size."""
    screens = window.screens
    window.show_screen(screens.connect)
    screens.connect.tabs.setCurrentIndex(2)
    sample = PairingUriReady(uri=SAMPLE_PAIRING_URI, expires_at=int(time.time()) + 299)
    window.connect_vm.on_walletconnect_event(sample)
    await settle(app, 0.4)
    grab(window, out / f"walletconnect-qr{suffix}.png")
    if minimum:
        window.resize(*MINIMUM_SIZE)
        await settle(app, 0.6)
        grab(window, out / f"walletconnect-qr-min{suffix}.png")
        window.resize(*DEFAULT_SIZE)
        await settle(app, 0.3)
    window.connect_vm._clear_pairing()


async def shoot(
    app: QApplication, out: Path, suffix: str, data_dir: Path, *, only_walletconnect: bool = False
) -> None:
    store = MemoryStore()
    context = AppContext(AppOptions(data_dir=data_dir, node_url=None, secrets=lambda: store))
    window = MainWindow(context)
    window.show()
    if only_walletconnect:
        await context.start()
        await shoot_walletconnect(app, window, out, suffix, minimum=True)
        await context.shutdown()
        window.close()
        window.deleteLater()
        return
    dialogs: list[SignDialog] = []

    shots: set[asyncio.Future[None]] = set()

    async def shoot_prompt(dialog: SignDialog) -> None:
        dialog.resize(620, 470)
        await settle(app, 0.4)
        grab(dialog, out / f"sign-prompt{suffix}.png")
        dialog.accept()

    def on_prompt(dialog: SignDialog) -> None:
        dialogs.append(dialog)
        if len(dialogs) == 1:  # the first prompt is pictured once painted, then approved
            shot = asyncio.ensure_future(shoot_prompt(dialog))
            shots.add(shot)
            shot.add_done_callback(shots.discard)
        else:
            dialog.accept()

    context.prompter.shown.connect(on_prompt)
    await context.start()
    screens = window.screens
    await settle(app)
    grab(window, out / f"connect{suffix}.png")

    for secret in WALLETS:
        await window.connect_vm.connect_signer(RawKeySigner(secret), SignerKind.KEYSTORE)
    first = RawKeySigner(WALLETS[0]).address
    context.accounts.switch(first)
    await window.prekeys_vm.rotate()
    await window.prekeys_vm.rotate()
    await window.invites_vm.load()
    screens.lookup.address.setText(first)
    await window.lookup_vm.lookup(first)
    screens.backup.result.setText(
        window.tr("Saved the encrypted keys of {0} to ~/xmtp-keys.backup.").format(first)
    )
    for name in SCREENS[1:]:  # the Connect screen was grabbed before any wallet connected
        window.show_screen(getattr(screens, name))
        await settle(app, 0.15)
        grab(window, out / f"{name}{suffix}.png")

    # WalletConnect: a pairing code as it is shown (a sample URI, no relay contacted).
    await shoot_walletconnect(app, window, out, suffix, minimum=not suffix)
    # Locked (or started again): the Connect screen opens on "Continue as …".
    window.lock_now()
    await settle(app, 0.5)
    window.show_screen(screens.connect)
    screens.connect.tabs.setCurrentIndex(0)
    await settle(app, 0.3)
    grab(window, out / f"connect-returning{suffix}.png")
    await context.shutdown()
    window.close()
    window.deleteLater()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    only_walletconnect = "--only" in args and "walletconnect" in args
    args = [a for a in args if a not in ("--only", "walletconnect")]
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = create_application()
    print(f"platform {app.platformName()}")
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    light_style = app.style().name()

    async def both() -> None:
        with tempfile.TemporaryDirectory() as light_dir:
            await shoot(app, out, "", Path(light_dir), only_walletconnect=only_walletconnect)
        if only_walletconnect:
            return
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(dark_palette())
        with tempfile.TemporaryDirectory() as dark_dir:
            await shoot(app, out, "-dark", Path(dark_dir))
        app.setStyle(QStyleFactory.create(light_style))

    with loop:
        loop.run_until_complete(both())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
