"""The listening side of PostgreSQL commit announcements (see ``postgres``).

One thread per node process holds a dedicated connection that ``LISTEN``s; for each packet of
notifications it fetches the announced rows in one query per table and hands them over in
announcement order, which is commit order.  While nobody subscribes on this process the rows
are not fetched at all.  If the connection drops, announcements may have been missed: the
``lost`` callback (``lost(False)``) lets the server end its streams (clients resubscribe and
query, as the protocol expects); once listening again (``lost(True)``) it ends the streams
opened during the gap too, whose subscribers missed the commits made meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

import psycopg

from app.xmtpnode.storage.base import Announce, Envelope, Listener

log = logging.getLogger(__name__)

CHANNEL: Final = "xmtpnode_envelopes"
_WAIT_S: Final = 1.0
_RECONNECT_S: Final = 0.5


class PostgresListener(Listener):
    """Announcements of every process's commits, delivered to ``announce`` on a thread."""

    def __init__(
        self,
        url: str,
        announce: Announce,
        wanted: Callable[[], bool],
        lost: Callable[[bool], None],
    ) -> None:
        self._url = url
        self._announce = announce
        self._wanted = wanted
        self._lost = lost
        self._stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = self._connect()
        self._thread = threading.Thread(target=self._run, name="xmtpnode-listen", daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        self._wake_channel = f"xmtpnode_wake_{conn.info.backend_pid}"
        conn.execute(f"LISTEN {self._wake_channel}")
        return conn

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._conn is None:
                    self._conn = self._connect()
                    # Commits made while deaf were never heard: streams opened meanwhile end.
                    self._lost(True)
                conn = self._conn
                payloads = [
                    n.payload
                    for n in conn.notifies(timeout=_WAIT_S, stop_after=1)
                    if n.channel == CHANNEL and "|" in n.payload
                ]
                if not payloads or self._stop.is_set():
                    continue
                tags = [p.partition("|")[0] for p in payloads]
                handles = [h for p in payloads for h in p.partition("|")[2].split(",") if h]
                envelopes = _fetch(conn, handles) if handles and self._wanted() else []
                self._announce(envelopes, [t for t in tags if t])
            except psycopg.Error as exc:
                if self._stop.is_set():
                    break
                log.warning("lost the PostgreSQL announcement channel (%s); reconnecting", exc)
                self._drop_connection()
                self._lost(False)
                self._stop.wait(_RECONNECT_S)
            except Exception:
                log.exception("announcement listener failed; reconnecting")
                self._drop_connection()
                self._lost(False)
                self._stop.wait(_RECONNECT_S)
        self._drop_connection()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        try:  # wake the thread now rather than at its next timeout
            with psycopg.connect(self._url, autocommit=True) as conn:
                conn.execute("SELECT pg_notify(%s, '')", (self._wake_channel,))
        except psycopg.Error:
            pass
        self._thread.join(_WAIT_S * 5)


def _fetch(conn: psycopg.Connection[Any], handles: Sequence[str]) -> list[Envelope]:
    """The announced envelopes in announcement order (rows gone meanwhile are skipped)."""
    durable = [int(h[1:]) for h in handles if h.startswith("d")]
    ephemeral = [int(h[1:]) for h in handles if h.startswith("e")]
    rows: dict[str, Envelope] = {}
    for prefix, table_ids, statement in (
        ("d", durable, "SELECT id, topic, timestamp_ns, message FROM envelopes WHERE id = ANY(%s)"),
        (
            "e",
            ephemeral,
            "SELECT id, topic, timestamp_ns, message FROM relay_envelopes WHERE id = ANY(%s)",
        ),
    ):
        if table_ids:
            for row in conn.execute(statement, (table_ids,)).fetchall():
                rows[f"{prefix}{row[0]}"] = Envelope(
                    bytes(row[1]).decode("utf-8"), row[2], bytes(row[3])
                )
    return [rows[h] for h in handles if h in rows]
