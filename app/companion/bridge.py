"""The one adapter from plain engine events to Qt signals.

The engine calls ``FlowEventBridge`` (a ``FlowEvent`` sink) on the event loop's thread;
the bridge re-emits each as a Qt signal (WalletConnect's typed events go straight to the
Connect view-model, on the same thread).  Every flow event reaches the
person: what is happening (progress, the signature being asked for, the signature received) in
the progress panel, publishes and warnings in the activity log, warnings also in the status bar.
"""

from __future__ import annotations

from app.companion.qt import QObject, Signal
from app.keyengine.flows import EventKind, FlowEvent


class FlowEventBridge(QObject):
    """Call it with a ``FlowEvent``; listen to its signals."""

    progress = Signal(str)
    """What the flow is doing: a step, or the signature just received."""
    sign_requested = Signal(object)
    """The ``SignatureRequest`` the wallet is asked for now (the prompt with its exact text is
    ``PromptingSigner``'s; this names the wait in the progress panel)."""
    published = Signal(str, str)
    """(what, topic)"""
    warning = Signal(str)
    """Something the person should know although the flow goes on (e.g. a damaged copy)."""

    def __call__(self, event: FlowEvent) -> None:
        match event.kind:
            case EventKind.SIGN_REQUEST if event.request is not None:
                self.sign_requested.emit(event.request)
            case EventKind.PROGRESS | EventKind.SIGN_REQUEST | EventKind.SIGNED:
                self.progress.emit(event.message)
            case EventKind.PUBLISHED:
                self.published.emit(event.message, event.topic or "")
            case EventKind.WARNING:
                self.warning.emit(event.message)
