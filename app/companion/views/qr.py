"""QR codes of WalletConnect pairing URIs: segno draws, Qt shows."""

from __future__ import annotations

import io

import segno

from app.companion.qt import QImage, QPixmap


def qr_image(data: str, scale: int = 6) -> QImage:
    """The QR code of ``data`` (dark modules on light, with the standard quiet zone)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    image = QImage.fromData(buffer.getvalue())
    if image.isNull():
        raise ValueError("segno produced an image Qt cannot read")
    return image


def qr_pixmap(data: str, scale: int = 6) -> QPixmap:
    return QPixmap.fromImage(qr_image(data, scale))
