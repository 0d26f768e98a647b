"""How the server reaches its storage: off the event loop, publishes committed in groups.

Storage calls block (SQLite, psycopg's sync API), so they run on threads: one writer thread and
a few reader threads (one for SQLite, whose single connection serialises anyway).  Publishes
use **group commit**: while the writer is busy with one transaction, the publishes arriving
meanwhile wait together, and the next transaction commits all of them (bounded in count and
bytes).  Nothing is acknowledged before the transaction holding it has committed.  If a group
fails, each of its publishes is retried alone, so one bad publish cannot fail its neighbours.

``group_commit=False`` keeps one transaction per publish (the benchmark's reference).

Once committed, a publish is relayed to the streams: directly to this process's broker, or,
with a shared store (PostgreSQL, several node processes), through the store's announcements
of every process's commits, so that every process's subscribers see one commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.pubsub import Broker
from app.xmtpnode.relay import Relay
from app.xmtpnode.storage import (
    Envelope,
    Storage,
    StorageClosed,
    StorageError,
    StorageUnavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_GROUP_PUBLISHES: Final = 512
MAX_GROUP_BYTES: Final = 16 * 1024 * 1024
_CONCURRENT_READERS: Final = 4

Keep = Callable[[Envelope], bool]
_Committed = tuple[list[Envelope], str]
_Outcome = _Committed | BaseException


class StorageDispatcher:
    """Storage calls for one server: ``await publish(envelopes)``, ``await read(call)``."""

    def __init__(
        self,
        storage: Storage,
        *,
        keep: Keep,
        group_commit: bool = True,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.storage = storage
        self.group_commit = group_commit
        self._keep = keep
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="xmtpnode-write")
        readers = _CONCURRENT_READERS if storage.concurrent_reads else 1
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="xmtpnode-read")
        self._pending: list[tuple[Sequence[Envelope], asyncio.Future[_Committed]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._relay: Relay | None = None
        self.errors = 0
        """Storage failures so far."""
        self._on_error = on_error
        """Told of each storage failure (the node's metrics count them)."""

    async def start(self, broker: Broker) -> None:
        """Relay committed publishes to ``broker`` (with a shared store: every process's)."""
        self._relay = Relay(self.storage, broker)
        await self._relay.start()

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Commit one publish (grouped with concurrent ones); return once it is relayed.

        One coroutine, errors mapped inline: this is every publish's path.
        """
        if self._closed:
            raise _shutting_down()
        if not self.storage.shared and not any([self._keep(e) for e in envelopes]):
            relay, tag = list(envelopes), ""  # nothing to store, and no other process to tell
        elif not self.group_commit:
            tag = self._next_tag()
            relay = await self._run(self._writer, self._commit_one, envelopes, tag)
        else:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[_Committed] = loop.create_future()
            self._pending.append((envelopes, future))
            if self._flusher is None:
                self._flusher = loop.create_task(self._flush())
            try:
                # A handler cancelled here cancels only its future: its envelopes stay in the
                # pending list or the group already taken, and are committed with the others
                # (``_flush`` skips futures that are done).
                relay, tag = await future
            except StorageError as failure:
                raise self._api_error(failure) from None
        if self._relay is not None:
            await self._relay.committed(relay, tag)

    def _next_tag(self) -> str:
        return "" if self._relay is None else self._relay.next_tag()

    async def ping(self) -> None:
        """Health probe: a round trip to the database; raises ``ApiError`` (UNAVAILABLE or
        INTERNAL) when the store does not answer."""
        await self.read(self.storage.ping)

    async def read(self, call: Callable[[], T]) -> T:
        """Run a read-only storage call on a reader thread."""
        if self._closed:
            raise _shutting_down()
        return await self._run(self._readers, call)

    async def _run(self, executor: ThreadPoolExecutor, call: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        with self._api_errors():
            try:
                return await loop.run_in_executor(executor, call, *args)
            except RuntimeError as exc:  # executor already shut down
                if "shutdown" in str(exc):
                    raise _shutting_down() from None
                raise

    def _commit_one(self, envelopes: Sequence[Envelope], tag: str) -> list[Envelope]:
        return self.storage.commit([envelopes], self._keep, tag)[0]

    async def _flush(self) -> None:
        """Commit pending publishes group after group until none is waiting."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group = self._take_group()
                try:
                    outcomes = await loop.run_in_executor(
                        self._writer, self._commit_group, [e for e, _ in group], self._next_tag()
                    )
                except RuntimeError as exc:  # executor shut down under us
                    outcomes = [exc] * len(group)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None

    def _take_group(self) -> list[tuple[Sequence[Envelope], asyncio.Future[_Committed]]]:
        count, size = 0, 0
        for envelopes, _ in self._pending:
            size += sum([len(e.message) for e in envelopes])
            if count and (count >= MAX_GROUP_PUBLISHES or size > MAX_GROUP_BYTES):
                break
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    def _commit_group(self, publishes: list[Sequence[Envelope]], tag: str) -> list[_Outcome]:
        """On the writer thread: one transaction for all, else one per publish."""
        try:
            return [(relay, tag) for relay in self.storage.commit(publishes, self._keep, tag)]
        except StorageClosed as exc:
            return [exc] * len(publishes)
        except (StorageError, ValueError) as exc:
            if len(publishes) == 1:
                return [exc]
            log.warning(
                "group commit of %d publishes failed (%s); retrying one by one",
                len(publishes),
                exc,
            )
        outcomes: list[_Outcome] = []
        for number, envelopes in enumerate(publishes):
            alone = f"{tag}.{number}" if tag else ""
            try:
                outcomes.append((self.storage.commit([envelopes], self._keep, alone)[0], alone))
            except (StorageError, ValueError) as exc:
                outcomes.append(exc)
        return outcomes

    @contextlib.contextmanager
    def _api_errors(self) -> Iterator[None]:
        try:
            yield
        except StorageError as failure:
            raise self._api_error(failure) from None

    def _api_error(self, failure: StorageError) -> ApiError:
        """A storage failure as a gRPC status: closed or unreachable → UNAVAILABLE (503),
        anything else → INTERNAL (500); each failure but a closed store counted."""
        if isinstance(failure, StorageClosed):
            return _shutting_down()
        self._failed()
        if isinstance(failure, StorageUnavailable):
            log.warning("storage unavailable: %s", failure)
            return ApiError(GrpcCode.UNAVAILABLE, "storage unavailable")
        log.error("storage failure", exc_info=failure)
        return ApiError(GrpcCode.INTERNAL, "storage failure")

    def _failed(self) -> None:
        self.errors += 1
        if self._on_error is not None:
            self._on_error()

    async def close(self) -> None:
        """Finish the publishes already accepted, then stop the threads (storage stays open)."""
        self._closed = True
        flusher = self._flusher
        if flusher is not None:
            with contextlib.suppress(Exception):
                await flusher
        for executor in (self._writer, self._readers):
            await asyncio.to_thread(executor.shutdown, wait=True)
        if self._relay is not None:
            await self._relay.close()


def _shutting_down() -> ApiError:
    return ApiError(GrpcCode.UNAVAILABLE, "the node is shutting down")
