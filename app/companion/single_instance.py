"""One running app per data directory: a second launch brings the first window to the front.

Two apps on one data directory would run two embedded nodes on one database and race on the
settings and the journal.  The first app listens on a local socket named after its data
directory (``QLocalServer``: a Unix socket in the user's runtime dir, a named pipe on Windows);
a second launch connects, says "show", and exits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from app.about import APP_NAME
from app.companion.qt import QLocalServer, QLocalSocket, QObject, Signal

SHOW: Final = b"show\n"
CONNECT_TIMEOUT_MS: Final = 1000
READ_TIMEOUT_MS: Final = 250
"""A second launch writes its request right after connecting; a silent peer is dropped."""


def server_name(data_dir: Path) -> str:
    """The socket's name: the same for every launch on ``data_dir`` (resolved), per user."""
    digest = hashlib.sha256(str(data_dir.expanduser().resolve()).encode()).hexdigest()[:16]
    return f"{APP_NAME}-{digest}"


class SingleInstance(QObject):
    activated = Signal()
    """Another launch on the same data directory asked this one to come to the front."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server: QLocalServer | None = None

    def forward_to_running(self) -> bool:
        """True when an app already runs on this data directory (it was asked to show)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(SHOW)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> bool:
        """Become the running app (a stale socket of a crashed one is removed first)."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        """Read the one short request of each new connection (it is written at once)."""
        server = self._server
        while server is not None and server.hasPendingConnections():
            socket = server.nextPendingConnection()
            if socket.bytesAvailable() or socket.waitForReadyRead(READ_TIMEOUT_MS):
                request = bytes(socket.readAll().data())
            else:
                request = b""
            socket.abort()
            socket.deleteLater()
            if request.startswith(SHOW.strip()):
                self.activated.emit()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
