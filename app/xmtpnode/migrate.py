"""``xmtp-keys node migrate``: copy a node's envelopes between stores (SQLite ↔ PostgreSQL).

The source is read in (topic, timestamp, digest) order, batch after batch; each batch is
stored in the target together with the source position it reached, in one transaction.  An
interrupted copy therefore resumes exactly after its last committed batch, and copying again
is harmless (the target de-duplicates).  At the end the envelopes per topic are counted on
both sides; the copy is verified only if the target holds at least as many on every topic as
the source (more is possible when the target already had envelopes of its own).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from app.xmtpnode.storage import Storage, StorageError, describe, is_postgres_url, open_storage

BATCH_ENVELOPES: Final = 2000


@dataclass
class CopyReport:
    copied: int = 0
    new: int = 0
    resumed: bool = False
    topics: int = 0
    short_topics: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Topics where the target holds fewer envelopes than the source: (source, target)."""

    @property
    def verified(self) -> bool:
        return not self.short_topics


def source_id(spec: str | os.PathLike[str]) -> str:
    """How the target remembers a source across runs (the password is never kept)."""
    text = os.fspath(spec)
    return describe(text) if is_postgres_url(text) else os.path.abspath(text)


def copy_store(
    source: Storage,
    target: Storage,
    source_name: str,
    *,
    batch: int = BATCH_ENVELOPES,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
) -> CopyReport:
    """Copy every envelope of ``source`` into ``target``, resuming a previous copy.

    ``max_batches`` stops early (tests interrupt a copy with it); the report then is not
    verified against the counts.
    """
    report = CopyReport()
    position = target.copy_position(source_name)
    report.resumed = position is not None
    batches = 0
    while max_batches is None or batches < max_batches:
        envelopes = source.scan(position, batch)
        if not envelopes:
            break
        position = envelopes[-1].scan_key
        report.new += target.copy_in(envelopes, source_name, position)
        report.copied += len(envelopes)
        batches += 1
        if progress is not None:
            progress(report.copied)
    else:
        return report
    source_counts = source.topic_counts()
    target_counts = target.topic_counts()
    report.topics = len(source_counts)
    for topic, count in source_counts.items():
        if target_counts.get(topic, 0) < count:
            report.short_topics[topic] = (count, target_counts.get(topic, 0))
    return report


def run_migrate(source_spec: str, target_spec: str) -> int:
    """The CLI command: 0 when copied and verified, 1 otherwise (with one line saying why)."""
    if os.fspath(source_spec) == os.fspath(target_spec):
        print("--from and --to name the same store", file=sys.stderr)
        return 1
    if not is_postgres_url(source_spec) and not os.path.exists(source_spec):
        print(f"no node database at {source_spec}", file=sys.stderr)
        return 1
    try:
        with open_storage(source_spec) as source, open_storage(target_spec) as target:

            def progress(copied: int) -> None:
                print(f"copied {copied} envelopes", file=sys.stderr, flush=True)

            report = copy_store(source, target, source_id(source_spec), progress=progress)
    except StorageError as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        return 1
    where = f"{describe(source_spec)} → {describe(target_spec)}"
    if not report.verified:
        for topic, (expected, found) in sorted(report.short_topics.items())[:10]:
            print(
                f"topic {topic}: {expected} in the source, {found} in the target", file=sys.stderr
            )
        print(
            f"verification failed on {len(report.short_topics)} topics ({where})", file=sys.stderr
        )
        return 1
    resumed = " (resumed)" if report.resumed else ""
    print(
        f"copied {report.copied} envelopes{resumed}, {report.new} new in the target;"
        f" {report.topics} topics verified ({where})"
    )
    return 0
