"""The main window: navigation, one screen per view-model, progress and errors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.companion.appinfo import DISPLAY_NAME
from app.companion.context import AppContext
from app.companion.qt import (
    QAction,
    QApplication,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QListWidget,
    QMainWindow,
    QResizeEvent,
    QSizePolicy,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.companion.services.lock import AutoLock
from app.companion.viewmodels.accounts import AccountsViewModel
from app.companion.viewmodels.activity import ActivityViewModel
from app.companion.viewmodels.apps import AppsViewModel
from app.companion.viewmodels.backup import BackupViewModel
from app.companion.viewmodels.connect import ConnectViewModel
from app.companion.viewmodels.identity import IdentityViewModel
from app.companion.viewmodels.invites import InvitesViewModel
from app.companion.viewmodels.lookup import LookupViewModel
from app.companion.viewmodels.prekeys import PreKeysViewModel
from app.companion.viewmodels.settings import SettingsViewModel
from app.companion.views.accounts import AccountsView
from app.companion.views.activity import ActivityView
from app.companion.views.apps import AppsView
from app.companion.views.backup import BackupView
from app.companion.views.common import button
from app.companion.views.connect import ConnectView
from app.companion.views.identity import IdentityView
from app.companion.views.invites import InvitesView
from app.companion.views.lookup import LookupView
from app.companion.views.menus import Menus
from app.companion.views.prekeys import PreKeysView
from app.companion.views.progress import ErrorPresenter, ProgressPanel
from app.companion.views.settings import SettingsView

DEFAULT_SIZE = (1100, 720)
MINIMUM_SIZE = (860, 600)
"""The smallest window every screen is laid out for (the QR code included, see views.qr)."""


@dataclass
class Screens:
    connect: ConnectView
    identity: IdentityView
    prekeys: PreKeysView
    lookup: LookupView
    invites: InvitesView
    activity: ActivityView
    backup: BackupView
    accounts: AccountsView
    settings: SettingsView
    apps: AppsView


class StatusLine(QLabel):
    """One line of status: a long message is elided (whole in the tooltip), never wrapped,
    so it can never squeeze the page above it."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def displayed(self) -> str:
        """What fits and is shown (the whole text is ``text()`` and the tooltip)."""
        return super().text()

    def clear(self) -> None:
        self.setText("")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(
            " ".join(self._full.split()), Qt.TextElideMode.ElideRight, max(self.width(), 40)
        )
        super().setText(shown)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle(DISPLAY_NAME)
        self.setAccessibleName(DISPLAY_NAME)
        context.prompter.parent_widget = self
        self.connect_vm = ConnectViewModel(context, self)
        self.identity_vm = IdentityViewModel(context, self)
        self.prekeys_vm = PreKeysViewModel(context, self)
        self.lookup_vm = LookupViewModel(context, self)
        self.invites_vm = InvitesViewModel(context, self)
        self.activity_vm = ActivityViewModel(context, self)
        self.backup_vm = BackupViewModel(context, self)
        self.accounts_vm = AccountsViewModel(context, self)
        self.settings_vm = SettingsViewModel(context, self)
        self.apps_vm = AppsViewModel(context, self)
        self.screens = Screens(
            connect=ConnectView(self.connect_vm),
            identity=IdentityView(self.identity_vm),
            prekeys=PreKeysView(self.prekeys_vm),
            lookup=LookupView(self.lookup_vm),
            invites=InvitesView(self.invites_vm),
            activity=ActivityView(self.activity_vm),
            backup=BackupView(self.backup_vm),
            accounts=AccountsView(self.accounts_vm),
            settings=SettingsView(self.settings_vm),
            apps=AppsView(self.apps_vm),
        )
        titles = (
            self.tr("Connect"),
            self.tr("Identity"),
            self.tr("Pre-keys"),
            self.tr("Lookup"),
            self.tr("Invitations"),
            self.tr("Activity"),
            self.tr("Backup"),
            self.tr("Accounts"),
            self.tr("Settings"),
            self.tr("Apps"),
        )
        widgets = (
            self.screens.connect,
            self.screens.identity,
            self.screens.prekeys,
            self.screens.lookup,
            self.screens.invites,
            self.screens.activity,
            self.screens.backup,
            self.screens.accounts,
            self.screens.settings,
            self.screens.apps,
        )
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName(self.tr("Screens"))
        self.nav.setMaximumWidth(190)
        self.stack = QStackedWidget()
        self.stack.setAccessibleName(self.tr("Screen"))
        for number, (title, widget) in enumerate(zip(titles, widgets, strict=True), start=1):
            self.nav.addItem(title)
            widget.setAccessibleName(title)
            self.stack.addWidget(widget)
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{number % 10}"))  # the 10th: Ctrl+0
            action.triggered.connect(lambda _=False, n=number - 1: self.nav.setCurrentRow(n))
            self.addAction(action)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.stack.currentChanged.connect(self._show_connect_bar)

        central = QWidget()
        outer = QVBoxLayout(central)
        header = QHBoxLayout()
        self.account_label = QLabel()
        self.account_label.setObjectName("accountLabel")
        self.account_label.setAccessibleName(self.tr("Account shown"))
        self.node_label = QLabel()
        self.node_label.setAccessibleName(self.tr("Node status"))
        self.auto_lock = AutoLock(context, self)
        self.auto_lock.locked.connect(self._locked)
        self.lock_action = QAction(self.tr("&Lock now"), self)
        self.lock_action.triggered.connect(self.lock_now)
        self.lock_button = button(
            self.tr("Lock now"), self.tr("Lock: drop the keys from memory"), self.lock_now
        )
        header.addWidget(self.account_label, 1)
        header.addWidget(self.lock_button)
        header.addWidget(self.node_label)
        outer.addLayout(header)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        page = QVBoxLayout()
        self.connect_bar = QWidget()
        bar = QHBoxLayout(self.connect_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.connect_bar_text = QLabel(self.tr("No wallet is connected: this screen needs one."))
        self.connect_bar_button = button(
            self.tr("Connect…"), self.tr("Go to the Connect screen"), self._add_account
        )
        bar.addWidget(self.connect_bar_text, 1)
        bar.addWidget(self.connect_bar_button)
        page.addWidget(self.connect_bar)
        page.addWidget(self.stack, 1)
        body.addLayout(page, 1)
        outer.addLayout(body, 1)
        self.progress = ProgressPanel(context.operations)
        outer.addWidget(self.progress)
        self.setCentralWidget(central)
        self.message = StatusLine()
        self.message.setAccessibleName(self.tr("Last message"))
        self.statusBar().addWidget(self.message, 1)
        self.warning = QLabel()
        self.warning.setObjectName("warningLabel")
        self.warning.setAccessibleName(self.tr("Last warning"))
        self.warning.setWordWrap(True)
        self.warning.hide()
        self._warnings: list[str] = []
        self.statusBar().addPermanentWidget(self.warning, 1)
        context.bridge.warning.connect(self._show_warning)
        context.operations.started.connect(self._clear_warning)
        # The status bar shows the latest state only: every operation starts with a clean
        # line, notices replace it, and switching account clears what was about the other.
        context.operations.started.connect(self._clear_message)
        context.operations.notice.connect(self._set_message)
        context.accounts.current_changed.connect(self._clear_message)
        self.errors = ErrorPresenter(self, self.message)
        context.operations.failed.connect(self.errors.present)
        context.accounts.current_changed.connect(self._show_account)
        context.node.state_changed.connect(self._show_node)
        self.connect_vm.connected.connect(self._connected)
        self.accounts_vm.reconnect_requested.connect(self._continue_saved)
        self.connect_vm.wallet_needed.connect(self._reconnect)
        self.accounts_vm.add_requested.connect(self._add_account)
        app = QApplication.instance()
        if isinstance(app, QApplication):  # a refresh when the window is focused again
            app.applicationStateChanged.connect(self._application_state)
        self.nav.setCurrentRow(0)
        self._show_account()
        self._show_node(context.node.state.value, context.node.url)
        self.menus = Menus(self, context.data_dir, self.lock_action)
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(*DEFAULT_SIZE)

    def _show_connect_bar(self, _index: int = 0) -> None:
        """Screens that need an account offer the way to Connect while none is connected."""
        free = (self.screens.connect, self.screens.lookup, self.screens.activity)
        needed = self.stack.currentWidget() not in (*free, self.screens.settings)
        self.connect_bar.setVisible(needed and self.context.accounts.current is None)

    def _application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.context.pending.refresh_current()

    def _add_account(self) -> None:
        self.show_screen(self.screens.connect)

    def lock_now(self) -> None:
        self.auto_lock.lock_now()

    def _locked(self, reason: str) -> None:
        self.show_screen(self.screens.connect)
        self.message.setText(reason)

    def bring_to_front(self) -> None:
        """Another launch on this data directory asked for this window."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def _set_message(self, text: str) -> None:
        self.message.setText(text)

    def _clear_message(self, _label: str = "") -> None:
        self.message.setText("")

    def show_screen(self, widget: QWidget) -> None:
        self.nav.setCurrentRow(self.stack.indexOf(widget))

    def _connected(self, address: str) -> None:
        self.message.setText(self.tr("Connected {0}.").format(address))
        self.show_screen(self.screens.identity)

    def _continue_saved(self, _kind: str, _location: str, address: str) -> None:
        """ "Connect again" in Accounts: the same one-click Continue as the Connect screen."""
        self.show_screen(self.screens.connect)
        self._pending_continue = asyncio.ensure_future(self.connect_vm.continue_saved(address))

    def _reconnect(self, kind: str, location: str, address: str) -> None:
        self.screens.connect.prefill(kind, location)
        self.show_screen(self.screens.connect)
        if kind == "walletconnect":
            # A remembered WalletConnect session resumes without a new QR code (the factory
            # falls back to pairing when the wallet ended the session meanwhile).
            self._pending_resume = asyncio.ensure_future(
                self.connect_vm.connect_walletconnect(resume_address=address)
            )

    def _show_warning(self, message: str) -> None:
        """Every warning of the current operation, kept until the next one starts (and in
        the activity log for good)."""
        self._warnings.append(self.tr("Warning: {0}").format(message))
        self.warning.setText("\n".join(self._warnings))
        self.warning.show()

    def _clear_warning(self, _label: str) -> None:
        self._warnings.clear()
        self.warning.clear()
        self.warning.hide()

    def _show_account(self) -> None:
        account = self.context.accounts.current
        self._show_connect_bar()
        self.lock_button.setEnabled(bool(self.context.accounts.accounts))
        self.lock_action.setEnabled(bool(self.context.accounts.accounts))
        if account is None:
            self.account_label.setText(self.tr("No wallet connected"))
        else:
            self.account_label.setText(self.tr("Account: {0}").format(account.address))

    def _show_node(self, state: str, url: str) -> None:
        texts = {
            "stopped": self.tr("Node stopped"),
            "starting": self.tr("Node starting…"),
            "online": self.tr("Node online"),
            "offline": self.tr("Node not reachable"),
        }
        self.node_label.setText(texts.get(state, state))
        self.node_label.setToolTip(url)
