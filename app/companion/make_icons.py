"""Render the SVG app icon to the PNG sizes in ``resources/icons/`` (``make icons``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.companion.appinfo import resources_dir


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...]) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.companion.qt import QGuiApplication, QImage, QPainter, QSvgRenderer, Qt

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {svg}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out_dir / f"xmtp-companion-{size}.png"
        image.save(str(path))
        written.append(path)
    del _app
    return written


def main() -> int:
    from app.companion.application import ICON_SIZES

    base = resources_dir()
    for path in render(base / "xmtp-companion.svg", base / "icons", ICON_SIZES):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
