"""What the node needs from a store of envelopes, independent of the database behind it.

The node only ever appends envelopes and reads them back by topic and time, page by page.  Two
properties matter for protocol compatibility, and every backend keeps both:

* **De-duplication.**  xmtp-js retries a publish that was refused or failed (six times on a
  403, once after a token refresh), so the same envelope can arrive several times.  An envelope
  is identified by (topic, timestamp, digest) with digest = SHA-256(topic bytes ‖ message bytes),
  the same digest the reference node puts in its paging cursors; a UNIQUE constraint on that
  triple makes repeats no-ops.
* **Stable paging.**  Rows are ordered by (timestamp_ns, digest), as the reference node orders
  them, and a cursor names the last row of a page by (sender_time_ns, digest).  The next page
  continues strictly after that position, so no envelope is returned twice or skipped, even
  when many share a timestamp, and a page is the same whichever backend or process answers it.
  The unique index (topic, timestamp_ns, digest) serves these queries in both directions.
"""

from __future__ import annotations

import enum
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

MAX_SQLITE_INTEGER: Final = 2**63 - 1
"""Largest timestamp a store keeps (SQL INTEGER/BIGINT is signed 64-bit; protobuf's is uint64)."""

ScanKey = tuple[str, int, bytes]
"""(topic, timestamp_ns, digest): the position of an envelope in a whole-store scan."""


def envelope_digest(topic: str, message: bytes) -> bytes:
    """SHA-256(topic UTF-8 bytes ‖ message bytes): the reference node's cursor digest."""
    return hashlib.sha256(topic.encode("utf-8") + message).digest()


class Envelope(NamedTuple):
    """One message on a content topic, as published and as stored.

    A named tuple, not a frozen dataclass: every publish makes one and every query page up to
    a hundred, and a frozen dataclass costs three times as much to build.
    """

    topic: str
    timestamp_ns: int
    message: bytes

    @property
    def digest(self) -> bytes:
        return envelope_digest(self.topic, self.message)

    @property
    def scan_key(self) -> ScanKey:
        return (self.topic, self.timestamp_ns, self.digest)


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Position after which the next page starts: the last row of the previous page."""

    digest: bytes
    sender_time_ns: int


class Direction(enum.Enum):
    ASCENDING = "ASC"
    DESCENDING = "DESC"


class StorageError(Exception):
    """The database failed (I/O, lost connection, constraint of the engine): not the caller's
    fault, so the node answers 500/503 and logs it."""


class StorageUnavailable(StorageError):
    """The database cannot be reached right now (server down, connections exhausted): the node
    answers 503, which load balancers and SDKs treat as "try again"."""


class StorageClosed(StorageError):
    """The storage was used after ``close()``."""


class SchemaTooNew(StorageError):
    """The database was written by a newer node: refusing it keeps that node's data intact."""


Announce = Callable[[list[Envelope], list[str]], None]
"""Receives envelopes committed by any process sharing the store, in commit order, and the
tags (see ``Storage.commit``) of the commits whose announcement is complete with them."""


class Listener(ABC):
    """A running subscription to a shared store's commit announcements."""

    @abstractmethod
    def close(self) -> None:
        """Stop listening and wait for the listener to end."""


def check_timestamps(envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        if not 0 <= envelope.timestamp_ns <= MAX_SQLITE_INTEGER:
            raise ValueError(f"timestamp_ns {envelope.timestamp_ns} cannot be stored")


def clamp(value: int) -> int:
    """uint64 bounds from a request, limited to what the database can compare against."""
    return min(value, MAX_SQLITE_INTEGER)


def always(_envelope: Envelope) -> bool:
    return True


def always_wanted() -> bool:
    return True


def nothing_lost(_listening: bool) -> None:
    return None


def relayed(
    envelopes: Sequence[Envelope], keep: Callable[[Envelope], bool], stored: Sequence[bool]
) -> list[Envelope]:
    """What a publish relays, in publish order: envelopes not kept, and newly stored ones.

    ``stored[i]`` says whether ``envelopes[i]`` was kept and newly stored; a repeated publish
    (an SDK retry) is not relayed again.
    """
    return [e for e, new in zip(envelopes, stored, strict=True) if new or not keep(e)]


class Storage(ABC):
    """What the server needs from a store of envelopes (all calls are synchronous).

    ``shared`` stores (PostgreSQL) may be written by several node processes at once: they
    announce every commit to every process (``listen``), and the server relays what it hears
    rather than what it wrote itself, so every process's subscribers see one commit order.
    """

    shared: bool = False
    concurrent_reads: bool = False
    """Whether reads may run on several threads at once (the server then gives it several)."""

    @abstractmethod
    def commit(
        self,
        publishes: Sequence[Sequence[Envelope]],
        keep: Callable[[Envelope], bool] = always,
        tag: str = "",
    ) -> list[list[Envelope]]:
        """Store the ``keep`` envelopes of several publishes in one transaction (group commit).

        Returns, per publish, what it relays (``relayed``): new envelopes and those not kept.
        Duplicates (same topic, timestamp and message, also within and across the publishes)
        are skipped.  Either everything is committed or, on error, nothing is.  A shared store
        announces the relayed envelopes inside the same transaction, with ``tag`` (no ``|`` or
        ``,``), so that the committing process can tell when its own announcement came back.
        """

    def insert_new(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Store ``envelopes`` atomically; return those that were not already stored."""
        return self.commit([envelopes])[0]

    def insert(self, envelopes: Sequence[Envelope]) -> int:
        """Store ``envelopes`` atomically; return how many were new."""
        return len(self.insert_new(envelopes))

    def query(
        self,
        topics: Sequence[str],
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: Direction,
        cursor: PageCursor | None,
        *,
        max_message_bytes: int | None = None,
    ) -> tuple[list[Envelope], PageCursor | None]:
        """One page of envelopes on any of ``topics`` ordered by (timestamp, digest).

        ``start_ns``/``end_ns`` are inclusive bounds on the timestamp, 0 meaning unbounded.
        The returned cursor is set only when the page is full (``limit`` rows): a shorter page
        is the last one.  A cursor continues strictly after the (timestamp, digest) it names.
        ``max_message_bytes`` leaves out larger envelopes (pages stay full of the others).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        unique_topics = list(dict.fromkeys(topics))
        if not unique_topics:
            return [], None
        return self._query_page(
            unique_topics, start_ns, end_ns, limit, direction, cursor, max_message_bytes
        )

    @abstractmethod
    def _query_page(
        self,
        topics: list[str],
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: Direction,
        cursor: PageCursor | None,
        max_message_bytes: int | None,
    ) -> tuple[list[Envelope], PageCursor | None]:
        """``query`` for at least one topic, each once, and a positive ``limit``."""

    @abstractmethod
    def scan(self, after: ScanKey | None, limit: int) -> list[Envelope]:
        """Up to ``limit`` envelopes of the whole store strictly after ``after``, ordered by
        (topic, timestamp, digest): how ``node migrate`` reads a store."""

    @abstractmethod
    def topic_counts(self) -> dict[str, int]:
        """Envelopes stored per topic (``node migrate`` verifies a copy with it)."""

    @abstractmethod
    def copy_in(self, envelopes: Sequence[Envelope], source: str, last: ScanKey) -> int:
        """Store a batch copied from ``source`` and remember ``last`` as that copy's position,
        in one transaction, so an interrupted copy resumes exactly where it stopped."""

    @abstractmethod
    def copy_position(self, source: str) -> ScanKey | None:
        """Where the copy from ``source`` stopped (None: not started)."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored envelopes (diagnostics and tests)."""

    @abstractmethod
    def ping(self) -> None:
        """Cheap round trip to the database (health checks); raises StorageError if it fails."""

    def listen(
        self,
        announce: Announce,
        wanted: Callable[[], bool] = always_wanted,
        lost: Callable[[bool], None] = nothing_lost,
    ) -> Listener | None:
        """Start receiving commit announcements (shared stores only; None otherwise).

        ``announce`` is called on another thread.  ``wanted`` says whether anyone on this
        process subscribes (if not, announced rows are not fetched); ``lost(False)`` is called
        when announcements may have been missed (the connection dropped), ``lost(True)`` once
        listening again (commits made in between were not announced to this process).
        """
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the database; later calls raise ``StorageClosed``."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
