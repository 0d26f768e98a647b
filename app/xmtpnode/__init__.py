"""XMTP-compatible network node (message API v1 over REST/JSON; SQLite or PostgreSQL storage).

The public XMTP network no longer accepts pre-MLS (v2) publishes, so the app ships its own node
speaking the same API as the reference node (xmtp-node-go behind grpc-gateway) — see
``../shared/protocol/xmtp-v2.md`` §8.  Entry points:

* ``serve(host, port, db_path)`` — async context manager yielding the bound URL (``db_path``
  a SQLite file or a ``postgresql://`` URL);
* ``NodeServer`` — start/stop on the current event loop (``ServeOptions``: limits, CORS,
  trusted proxies; see ``limits.NodeLimits`` for every ceiling and its default);
* ``EmbeddedNode`` — a node on a background thread (GUI, CLI, tests);
* ``run_node(host, port, db_path, ready_callback)`` — foreground until SIGINT/SIGTERM.
"""

from app.xmtpnode.cli import run_node
from app.xmtpnode.embedded import EmbeddedNode
from app.xmtpnode.server import NodeServer, serve
from app.xmtpnode.storage import (
    Direction,
    Envelope,
    PageCursor,
    SqliteStorage,
    Storage,
    open_storage,
)

__all__ = [
    "Direction",
    "EmbeddedNode",
    "Envelope",
    "NodeServer",
    "PageCursor",
    "SqliteStorage",
    "Storage",
    "open_storage",
    "run_node",
    "serve",
]
