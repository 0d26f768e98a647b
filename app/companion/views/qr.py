"""QR codes of WalletConnect pairing URIs: segno encodes, Qt paints, always whole.

``QrCode`` paints the code at the largest whole number of pixels per module that fits its
space, quiet zone included, dark on white whatever the theme (scanners need that contrast), so
it is never clipped and never overlaps its neighbours: the layout gives it what is left, down to
``MIN_MODULE_PX`` per module.
"""

from __future__ import annotations

import io
from typing import Final

import segno

from app.companion.qt import QColor, QImage, QPainter, QPixmap, QSize, QSizePolicy, QWidget

QUIET_ZONE: Final = 4
"""Modules of light border on each side (ISO/IEC 18004 asks for four)."""
MIN_MODULE_PX: Final = 3
"""Smallest module size the widget is laid out for: phone cameras read 3 px modules reliably."""


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of ``data``'s QR code (True is dark), quiet zone included."""
    code = segno.make(data, error="m", micro=False)
    return [[bool(value) for value in row] for row in code.matrix_iter(border=QUIET_ZONE)]


def qr_image(data: str, scale: int = 6) -> QImage:
    """The QR code of ``data`` (dark modules on light, with the standard quiet zone)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="png", scale=scale, border=QUIET_ZONE
    )
    image = QImage.fromData(buffer.getvalue())
    if image.isNull():
        raise ValueError("segno produced an image Qt cannot read")
    return image


def qr_pixmap(data: str, scale: int = 6) -> QPixmap:
    return QPixmap.fromImage(qr_image(data, scale))


class QrCode(QWidget):
    """A QR code that scales to the space it has, always whole with its quiet zone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._modules: list[list[bool]] = []
        self.data = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, data: str) -> None:
        self.data = data
        self._modules = qr_matrix(data) if data else []
        self.updateGeometry()
        self.update()

    @property
    def module_count(self) -> int:
        return len(self._modules)

    def module_px(self) -> int:
        """Pixels per module at the current size (0 when empty)."""
        if not self._modules:
            return 0
        return max(1, min(self.width(), self.height()) // len(self._modules))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        side = len(self._modules) * MIN_MODULE_PX
        return QSize(side, side)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        side = len(self._modules) * 6
        return QSize(side, side)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        if not self._modules:
            return
        px = self.module_px()
        side = px * len(self._modules)
        left = (self.width() - side) // 2
        top = (self.height() - side) // 2
        painter = QPainter(self)
        painter.fillRect(left, top, side, side, QColor("#ffffff"))
        dark = QColor("#000000")
        for y, row in enumerate(self._modules):
            for x, is_dark in enumerate(row):
                if is_dark:
                    painter.fillRect(left + x * px, top + y * px, px, px, dark)
        painter.end()
