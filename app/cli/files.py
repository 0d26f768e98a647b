"""Where the command line keeps files: the data directory, and permission-first atomic writes
for files that hold private keys."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.about import default_data_dir
from app.cli.output import CliError
from app.keyengine.files import PRIVATE_FILE_MODE
from app.keyengine.files import write_private_file as write_file_atomically

__all__ = ["PRIVATE_FILE_MODE", "check_new_file", "data_dir_of", "write_private_file"]


def check_new_file(path: Path) -> None:
    """Refuse to overwrite: a key file that exists may hold the only copy of an identity."""
    if path.exists() or path.is_symlink():
        raise CliError(f"{path} already exists; refusing to overwrite a key file")
    if not path.parent.is_dir():
        raise CliError(f"cannot write {path}: its directory does not exist")


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a *new* file ``path``, owner-only and atomically (never overwrites)."""
    check_new_file(path)
    write_file_atomically(path, data)


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data directory a command works in: ``--data-dir``, else the user data dir."""
    return Path(args.data_dir) if args.data_dir else default_data_dir()
