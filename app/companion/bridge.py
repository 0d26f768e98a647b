"""The one adapter from plain engine events to Qt signals.

The engine calls ``FlowEventBridge`` (a ``FlowEvent`` sink) on the event loop's thread; the bridge
re-emits each event as a Qt signal that view-models connect to.  (WalletConnect's typed events go
straight to the Connect view-model, which runs on the same thread.)
"""

from __future__ import annotations

from app.companion.qt import QObject, Signal
from app.keyengine.flows import EventKind, FlowEvent


class FlowEventBridge(QObject):
    """Call it with a ``FlowEvent``; listen to its signals."""

    progress = Signal(str)
    sign_requested = Signal(object)
    """The ``SignatureRequest`` about to be shown and signed."""
    signed = Signal(str)
    published = Signal(str, str)
    """(what, topic)"""
    warning = Signal(str)
    flow_event = Signal(object)
    """Every ``FlowEvent`` as it came."""

    def __call__(self, event: FlowEvent) -> None:
        self.flow_event.emit(event)
        if event.kind is EventKind.PROGRESS:
            self.progress.emit(event.message)
        elif event.kind is EventKind.SIGN_REQUEST and event.request is not None:
            self.sign_requested.emit(event.request)
        elif event.kind is EventKind.SIGNED:
            self.signed.emit(event.message)
        elif event.kind is EventKind.PUBLISHED:
            self.published.emit(event.message, event.topic or "")
        elif event.kind is EventKind.WARNING:
            self.warning.emit(event.message)
