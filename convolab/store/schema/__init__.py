"""The store's schema: every table and every forward migration, in one place.

A store records the schema version it was last migrated to in
``schema_info``; :func:`migrate` applies every newer migration in order, so a
file written by an older convolab opens with a newer one. Migrations are
append-only once released: change the schema by adding a new version, never by
editing an old one.

Timestamps are stored as naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from convolab.store.schema.core import V1_CORE
from convolab.store.schema.emotions import V2_EMOTIONS, V8_EMOTION_CONTEXTS
from convolab.store.schema.flags import V3_FLAGS
from convolab.store.schema.live import V4_LIVE
from convolab.store.schema.pages import (
    TABLE_ORDERS,
    V5_PAGE_INDEXES,
    V6_TABLE_ORDERS,
    V7_PAGE_SUMMARIES,
    table_order_build,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLE_ORDERS", "Migration", "current_version", "migrate",
           "table_order_build"]


@dataclass(frozen=True)
class Migration:
    """One schema version: its statements run in one transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


#: Every migration, in version order. Each module beside this one holds one table group's DDL.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core conversation tables", V1_CORE),
    Migration(2, "emotion scores", V2_EMOTIONS),
    Migration(3, "review flags", V3_FLAGS),
    Migration(4, "live calls and audio", V4_LIVE),
    Migration(5, "indexes for conversations-table pages", V5_PAGE_INDEXES),
    Migration(6, "pre-sorted order tables for conversations-table pages", V6_TABLE_ORDERS),
    Migration(7, "table-page summaries on conversations instead of child indexes", V7_PAGE_SUMMARIES),
    Migration(8, "emotion scores keyed by message text and its context", V8_EMOTION_CONTEXTS),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version recorded in the store (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_info").fetchone()
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection, *, target: int | None = None) -> int:
    """Apply every migration newer than the store's version, up to ``target``.

    Each migration runs in its own transaction, so a failure leaves the file at
    the last good version. Returns the version the store is at afterwards.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_info (version INTEGER, description VARCHAR,"
        " migrated_at TIMESTAMP)"
    )
    version = current_version(con)
    for migration in MIGRATIONS:
        if migration.version <= version or (target is not None and migration.version > target):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_info VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.description],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = migration.version
    return version
