"""Non-blocking file pickers: ``QFileDialog.open()`` with a callback (no nested event loop)."""

from __future__ import annotations

from collections.abc import Callable

from app.companion.qt import QFileDialog, QWidget


def choose_file(
    parent: QWidget,
    title: str,
    on_chosen: Callable[[str], object],
    *,
    save: bool = False,
    name_filter: str = "",
) -> QFileDialog:
    dialog = QFileDialog(parent, title)
    dialog.setAccessibleName(title)
    dialog.setAcceptMode(
        QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen
    )
    dialog.setFileMode(QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile)
    if name_filter:
        dialog.setNameFilter(name_filter)
    dialog.fileSelected.connect(on_chosen)
    dialog.finished.connect(lambda _result: dialog.deleteLater())
    dialog.open()
    return dialog
