"""Versioned schema migrations, run by the node at start.

Each backend has an ordered list of steps; step *n* brings a database from version *n-1* to
*n*.  A store applies the steps it is missing in one transaction each and records the version
with the step, so a crash between steps leaves a consistent, resumable state.  A database whose
version is newer than the last known step was written by a newer node: it is refused
(``SchemaTooNew``) rather than used, since this node cannot know what the newer schema means.

Version 1 of SQLite is the schema nodes have written since the first release (rows ordered by
an insertion id); version 2 orders by (timestamp, digest) like the reference node, served by
the unique index, so the old index goes.  PostgreSQL started at that design.
"""

from __future__ import annotations

from typing import Final

SQLITE_STEPS: Final[tuple[str, ...]] = (
    # 1: the envelopes and the de-duplicating unique index.
    """
    CREATE TABLE IF NOT EXISTS envelopes (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL,
        timestamp_ns INTEGER NOT NULL,
        message BLOB NOT NULL,
        digest BLOB NOT NULL,
        UNIQUE (topic, timestamp_ns, digest)
    );
    CREATE INDEX IF NOT EXISTS envelopes_by_topic_time ON envelopes (topic, timestamp_ns, id);
    """,
    # 2: paging by (timestamp, digest) uses the unique index; positions of `node migrate`.
    """
    DROP INDEX IF EXISTS envelopes_by_topic_time;
    CREATE TABLE IF NOT EXISTS copy_positions (
        source TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        timestamp_ns INTEGER NOT NULL,
        digest BLOB NOT NULL
    );
    """,
)

# Topics are bytea (their UTF-8 bytes): any string a client may send is storable (text refuses
# NUL) and compares bytewise, exactly as in SQLite.
POSTGRES_STEPS: Final[tuple[str, ...]] = (
    # 1: envelopes (id = commit announcements' handle), ephemeral relay rows (unlogged: they
    # only need to outlive the announcement by seconds), copy positions.
    """
    CREATE TABLE envelopes (
        id BIGSERIAL PRIMARY KEY,
        topic BYTEA NOT NULL,
        timestamp_ns BIGINT NOT NULL,
        message BYTEA NOT NULL,
        digest BYTEA NOT NULL,
        CONSTRAINT envelopes_unique UNIQUE (topic, timestamp_ns, digest)
    );
    CREATE UNLOGGED TABLE relay_envelopes (
        id BIGSERIAL PRIMARY KEY,
        topic BYTEA NOT NULL,
        timestamp_ns BIGINT NOT NULL,
        message BYTEA NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE copy_positions (
        source TEXT PRIMARY KEY,
        topic BYTEA NOT NULL,
        timestamp_ns BIGINT NOT NULL,
        digest BYTEA NOT NULL
    );
    """,
)

POSTGRES_VERSION_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS xmtpnode_schema (version INTEGER NOT NULL)"
)
POSTGRES_MIGRATION_LOCK: Final = 0x786D7470  # "xmtp": serialises nodes migrating at once
