"""Export the encrypted key bundle to a file, and restore one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final

from app.companion.context import AppContext
from app.companion.qt import QObject, Signal
from app.keyengine.errors import InvalidBundle
from app.keyengine.files import read_regular_file, write_private_file

MAX_BACKUP_BYTES: Final = 10 * 1024 * 1024


def _read_backup(path: Path) -> bytes:
    data = read_regular_file(path, MAX_BACKUP_BYTES)
    if len(data) > MAX_BACKUP_BYTES:
        raise InvalidBundle(f"{path} is too large to be an XMTP key backup")
    return data


class BackupViewModel(QObject):
    done = Signal(str)
    """A sentence saying what was just exported or restored."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context

    async def export(self, path: str) -> bool:
        account = self.context.accounts.current
        if account is None:
            return False
        data = account.identity.encrypted.to_bytes()
        target = Path(path)

        async def work() -> bool:
            await asyncio.to_thread(write_private_file, target, data)
            return True

        ok = bool(await self.context.operations.run(self.tr("Saving the backup"), work))
        if ok:
            self.done.emit(
                self.tr("Saved the encrypted keys of {0} to {1} (readable by you only).").format(
                    account.address, target
                )
            )
        return ok

    async def restore(self, path: str) -> bool:
        account = self.context.accounts.current
        if account is None:
            return False

        async def work() -> bool:
            data = await asyncio.to_thread(_read_backup, Path(path))
            signer = await self.context.wallet_for(account)
            identity = await self.context.engine.flows.restore(signer, data)
            self.context.accounts.update_identity(account, identity)
            return True

        ok = bool(await self.context.operations.run(self.tr("Restoring the backup"), work))
        if ok:
            count = len(account.identity.bundle.pre_keys)
            self.done.emit(
                self.tr(
                    "Restored: {0} pre-key(s) of {1} are on this machine and on the node again."
                ).format(count, account.address)
            )
        return ok
