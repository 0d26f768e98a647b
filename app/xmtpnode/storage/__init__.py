"""The node's database: one ``Storage`` interface, SQLite (embedded default) or PostgreSQL.

``open_storage(spec)`` picks the backend: a ``postgresql://`` (or ``postgres://``) URL opens
PostgreSQL, anything else is a SQLite file path (``":memory:"`` allowed).

The PostgreSQL driver is imported only when a URL is opened.
"""

from __future__ import annotations

import os

from app.xmtpnode.storage.base import (
    MAX_SQLITE_INTEGER,
    Direction,
    Envelope,
    Listener,
    PageCursor,
    ScanKey,
    SchemaTooNew,
    Storage,
    StorageClosed,
    StorageError,
    StorageUnavailable,
    envelope_digest,
)
from app.xmtpnode.storage.sqlite import SqliteStorage

__all__ = [
    "MAX_SQLITE_INTEGER",
    "Direction",
    "Envelope",
    "Listener",
    "PageCursor",
    "ScanKey",
    "SchemaTooNew",
    "SqliteStorage",
    "Storage",
    "StorageClosed",
    "StorageError",
    "StorageUnavailable",
    "describe",
    "envelope_digest",
    "is_postgres_url",
    "open_storage",
]


def is_postgres_url(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def open_storage(spec: str | os.PathLike[str]) -> Storage:
    """The store named by ``spec``: a PostgreSQL URL or a SQLite path.  Raises StorageError."""
    text = os.fspath(spec)
    if is_postgres_url(text):
        # Imported here: the desktop app's embedded node never loads the PostgreSQL driver.
        from app.xmtpnode.storage.postgres import PostgresStorage

        return PostgresStorage(text)
    return SqliteStorage(text)


def describe(spec: str | os.PathLike[str]) -> str:
    """``spec`` as it may be shown to a person (a URL's password removed)."""
    text = os.fspath(spec)
    if not is_postgres_url(text):
        return text
    from app.xmtpnode.storage.postgres import redacted

    return redacted(text)
