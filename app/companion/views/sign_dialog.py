"""The signature prompt: what is signed, exactly, by which account, and what happens next.

``DialogPrompter`` implements ``signing.SignaturePrompter`` with window-modal dialogs opened
with ``open()`` and awaited through a future (never ``exec()`` inside a coroutine).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from app.companion.qt import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QObject,
    QProgressBar,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from app.companion.signing import SignerKind
from app.companion.views.common import CopyField, button, heading, note, text_box
from app.keyengine.errors import KeyEngineError
from app.keyengine.fingerprints import key_bytes_fingerprint
from app.keyengine.texts import SignaturePurpose, SignatureRequest


def _payload_fingerprint(request: SignatureRequest) -> str:
    """The identity key's fingerprint (the one every screen shows) for a Create Identity
    request, whose payload is the key's protobuf bytes; "" for other requests."""
    if request.purpose is not SignaturePurpose.CREATE_IDENTITY:
        return ""
    try:
        return key_bytes_fingerprint(request.payload)
    except KeyEngineError:
        return ""


def prompt_title(request: SignatureRequest) -> str:
    """What the signature does, in the prompt's title (and the activity log)."""
    if request.purpose is SignaturePurpose.CREATE_IDENTITY:
        return "Create your XMTP identity"
    if request.stores:
        return "Protect and store your keys"
    return "Unlock your keys"


class SignDialog(QDialog):
    """One signature request, shown before anything is signed."""

    def __init__(
        self,
        request: SignatureRequest,
        address: str,
        kind: SignerKind,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.kind = kind
        self.setObjectName("signDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        create = request.purpose is SignaturePurpose.CREATE_IDENTITY
        title = self.tr(prompt_title(request))
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(title))
        if create:
            why = self.tr(
                "Your wallet signs your new XMTP identity key. Anyone can then check that this "
                "messaging identity belongs to your account."
            )
            after = self.tr(
                "Next: your wallet is asked once more, to lock the new keys so only it can "
                "unlock them; then they are stored on the node and your public keys published."
            )
        else:
            why = self.tr(
                "Your wallet's signature of this random value is the secret that locks and "
                "unlocks your XMTP private keys stored on the node. Nobody else can make it."
            )
            after = self.tr(
                "Next: your keys are unlocked (or locked and stored) with it; the signature "
                "itself is not kept and never leaves this computer."
            )
        layout.addWidget(note(why, self.tr("Why this signature")))
        form = QFormLayout()
        self.account_field = CopyField(self.tr("Account"))
        self.account_field.set_text(address)
        form.addRow(self.tr("Account"), self.account_field)
        self.key_field = CopyField(
            self.tr("Identity key (hex)") if create else self.tr("Random value (hex)")
        )
        self.key_field.set_text(request.payload.hex())
        form.addRow(self.tr("Identity key") if create else self.tr("Random value"), self.key_field)
        self.fingerprint = QLabel(_payload_fingerprint(request))
        self.fingerprint.setObjectName("keyFingerprint")
        self.fingerprint.setAccessibleName(self.tr("Identity key fingerprint"))
        if create:
            form.addRow(self.tr("Fingerprint"), self.fingerprint)
        layout.addLayout(form)
        layout.addWidget(QLabel(self.tr("Exact text to be signed:")))
        self.text_box = text_box(self.tr("Exact text to be signed"))
        self.text_box.setPlainText(request.text)
        self.text_box.setMinimumHeight(110)
        layout.addWidget(self.text_box)
        layout.addWidget(note(after, self.tr("What happens after")))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        if kind.approves_in_app:
            self.reject_button = button(self.tr("Reject"), self.tr("Reject"), self.reject)
            self.approve_button = button(
                self.tr("Approve and sign"), self.tr("Approve and sign"), self.accept
            )
            self.reject_button.setDefault(True)
            buttons.addWidget(self.reject_button)
            buttons.addWidget(self.approve_button)
        else:
            waiting = QLabel(
                self.tr("Approve in your wallet. Compare the text it shows with the text above.")
            )
            waiting.setObjectName("waiting")
            waiting.setWordWrap(True)
            layout.addWidget(waiting)
            bar = QProgressBar()
            bar.setRange(0, 0)
            bar.setAccessibleName(self.tr("Waiting for your wallet"))
            layout.addWidget(bar)
            self.reject_button = button(self.tr("Cancel"), self.tr("Stop waiting"), self.reject)
            buttons.addWidget(self.reject_button)
        layout.addLayout(buttons)
        self.resize(560, 440)


class _Waiting:
    def __init__(self, dialog: SignDialog, cancelled: asyncio.Future[None]) -> None:
        self._dialog = dialog
        self._cancelled = cancelled

    @property
    def cancelled(self) -> Awaitable[None]:
        return self._cancelled

    def close(self) -> None:
        if not self._cancelled.done():
            self._cancelled.cancel()
        _dispose(self._dialog)


def _dispose(dialog: QDialog) -> None:
    with contextlib.suppress(RuntimeError, TypeError):
        dialog.finished.disconnect()
    dialog.done(QDialog.DialogCode.Rejected)
    dialog.deleteLater()


class DialogPrompter(QObject):
    """``SignaturePrompter`` with Qt dialogs over ``parent_widget``."""

    shown = Signal(object)
    """The ``SignDialog`` just opened (tests and screenshots use it)."""
    password_asked = Signal(object)
    """The keystore password dialog just opened (tests count them)."""

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self.parent_widget = parent_widget
        self.current: SignDialog | None = None
        self.announced: SignatureRequest | None = None
        """The request the engine announced last; a signer sees only the text, so the
        prompt takes the announced request (which knows whether it stores keys) when equal."""

    def _open(
        self,
        request: SignatureRequest,
        address: str,
        kind: SignerKind,
        on_finished: Callable[[int], None],
    ) -> SignDialog:
        if self.announced == request:
            request = self.announced
        dialog = SignDialog(request, address, kind, self.parent_widget)
        self.current = dialog
        dialog.destroyed.connect(lambda _=None: self._forget(dialog))
        dialog.finished.connect(on_finished)
        dialog.open()
        self.shown.emit(dialog)
        return dialog

    def _forget(self, dialog: SignDialog) -> None:
        if self.current is dialog:
            self.current = None

    async def approve(self, request: SignatureRequest, address: str, kind: SignerKind) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not future.done():
                future.set_result(result == QDialog.DialogCode.Accepted.value)

        dialog = self._open(request, address, kind, finished)
        try:
            return await future
        finally:
            if self.current is dialog:
                self.current = None
            _dispose(dialog)

    async def ask_password(self, address: str, path: str) -> str | None:
        """The keystore password, asked only when a signature really needs the wallet
        (``None`` when the person cancels).  ``password_asked`` announces the dialog."""
        dialog = QInputDialog(self.parent_widget)
        dialog.setObjectName("passwordDialog")
        dialog.setWindowTitle(self.tr("Your wallet is needed"))
        dialog.setLabelText(
            self.tr("This needs a signature of {0}. Keystore password for {1}:").format(
                address, path
            )
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not future.done():
                accepted = result == QDialog.DialogCode.Accepted.value
                future.set_result(dialog.textValue() if accepted else None)

        dialog.finished.connect(finished)
        dialog.open()
        self.password_asked.emit(dialog)
        try:
            return await future
        finally:
            _dispose(dialog)

    def waiting(self, request: SignatureRequest, address: str, kind: SignerKind) -> _Waiting:
        cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished(_result: int) -> None:
            if not cancelled.done():
                cancelled.set_result(None)

        dialog = self._open(request, address, kind, finished)
        return _Waiting(dialog, cancelled)
