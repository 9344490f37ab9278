"""The store's schema: every table and every forward migration, in one place.

A store records the schema version it was last migrated to in
``schema_info``; :func:`migrate` applies every newer migration in order, so a
file written by an older convolab opens with a newer one. Migrations are
append-only once released: change the schema by adding a new version, never by
editing an old one.

Timestamps are stored as naive ``TIMESTAMP`` values in UTC.

A migration may carry different statements for a team store (DuckLake): a lake
has no primary keys, unique constraints, indexes or sequences (see
:func:`for_lake`), and some versions do nothing there. Both backends record the
same version numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from convolab.store._connection import transaction
from convolab.store.schema.audio import V9_AUDIO
from convolab.store.schema.core import V1_CORE
from convolab.store.schema.embeddings import V10_EMBEDDINGS
from convolab.store.schema.emotions import V2_EMOTIONS, V11_EMOTION_CONTEXTS
from convolab.store.schema.flags import V3_FLAGS
from convolab.store.schema.live import V4_LIVE
from convolab.store.schema.pages import (
    TABLE_ORDERS,
    V5_PAGE_INDEXES,
    V6_TABLE_ORDERS,
    V7_PAGE_SUMMARIES,
    table_order_build,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLE_ORDERS", "WRITE_TOKENS", "Migration", "current_version",
           "for_lake", "migrate", "table_order_build"]


@dataclass(frozen=True)
class Migration:
    """One schema version: its statements run in one transaction.

    ``lake`` holds the statements for a team store when they differ (``None``: the
    same as ``statements``).
    """

    version: int
    description: str
    statements: tuple[str, ...]
    lake: tuple[str, ...] | None = None

    def for_backend(self, *, lake: bool) -> tuple[str, ...]:
        """The statements to run on a file store or on a lake."""
        return self.lake if lake and self.lake is not None else self.statements


_PRIMARY_KEY_COLUMN = re.compile(r"\s+PRIMARY KEY(\s+DEFAULT nextval\('\w+'\))?")
_PRIMARY_KEY_CLAUSE = re.compile(r",\s*PRIMARY KEY \([^)]*\)")


def for_lake(statements: tuple[str, ...]) -> tuple[str, ...]:
    """File-store DDL as a lake takes it: without primary keys, sequences and indexes.

    Uniqueness the keys enforced in a file store is kept by the writers instead (ingest
    upserts by id; ids come from :meth:`Workbench.new_id_sql`).
    """
    out = []
    for statement in statements:
        head = statement.lstrip().upper()
        if head.startswith(("CREATE SEQUENCE", "CREATE INDEX", "DROP INDEX")):
            continue
        statement = _PRIMARY_KEY_COLUMN.sub("", _PRIMARY_KEY_CLAUSE.sub("", statement))
        out.append(statement)
    return tuple(out)


_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)
# A value of each type for a NOT NULL column of a priming row (see _prime).
_NOT_NULL_VALUES = {"VARCHAR": "''", "JSON": "'null'", "TIMESTAMP": "TIMESTAMP '2020-01-01'",
                    "BOOLEAN": "false", "DATE": "DATE '2020-01-01'"}


def _prime(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Give a new lake table its statistics: insert one row and delete it, in the creating transaction.

    DuckLake keeps no statistics for a table that never held a row, and then reads its
    catalog afresh several times per query (about 0.1 s each time); a table whose rows were
    all deleted is read as fast as any other.
    """
    columns = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    values = [
        "NULL" if nullable == "YES"
        else f"[]::{data_type}" if data_type.endswith("[]")  # a list column (embeddings)
        else _NOT_NULL_VALUES.get(data_type, f"0::{data_type}")
        for _, data_type, nullable in columns
    ]
    con.execute(f"INSERT INTO {table} VALUES ({', '.join(values)})")  # noqa: S608 - catalogue names, constants
    con.execute(f"DELETE FROM {table}")  # noqa: S608


#: Tables a team-store transaction updates to exclude others that claim the same name
#: (:meth:`Workbench.claim`): two ingests writing the same new ids, two first flag runs.
WRITE_TOKENS = {"conversations": "write_token_conversations", "flags": "write_token_flags"}

# Version 7 on a lake: the summaries are new columns (a lake never held a version-6 table
# with rows: team stores start at this version).
_V7_LAKE = tuple(
    f"ALTER TABLE conversations ADD COLUMN {column} JSON"
    for column in ("function_names", "tag_entries", "parameter_entries")
)

#: Every migration, in version order. Each module beside this one holds one table group's DDL.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core conversation tables", V1_CORE, for_lake(V1_CORE)),
    Migration(2, "emotion scores", V2_EMOTIONS, for_lake(V2_EMOTIONS)),
    Migration(3, "review flags", V3_FLAGS, for_lake(V3_FLAGS)),
    Migration(4, "live calls and audio", V4_LIVE, for_lake(V4_LIVE)),
    # A lake has no indexes, and its pages sort the store directly (bench/table.py): a
    # rewrite of nine order tables per bulk load would cost more than it saves there.
    Migration(5, "indexes for conversations-table pages", V5_PAGE_INDEXES, ()),
    Migration(6, "pre-sorted order tables for conversations-table pages", V6_TABLE_ORDERS, ()),
    Migration(7, "table-page summaries on conversations instead of child indexes", V7_PAGE_SUMMARIES, _V7_LAKE),
    Migration(8, "write tokens for team stores", (), tuple(
        statement for table in WRITE_TOKENS.values()
        for statement in (f"CREATE TABLE {table} (turns BIGINT NOT NULL)", f"INSERT INTO {table} VALUES (0)")  # noqa: S608
    )),
    Migration(9, "call-recording analyses and store settings", V9_AUDIO, for_lake(V9_AUDIO)),
    Migration(10, "sentence embeddings for meaning-based review criteria", V10_EMBEDDINGS, for_lake(V10_EMBEDDINGS)),
    Migration(11, "emotion scores keyed by message text and its context", V11_EMOTION_CONTEXTS,
              for_lake(V11_EMOTION_CONTEXTS)),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version recorded in the store (0 for an empty file)."""
    if not current_version_exists(con):
        return 0
    row = con.execute("SELECT max(version) FROM schema_info").fetchone()
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection, *, target: int | None = None, lake: bool = False,
            retry: Callable[[Callable[[], int]], int] | None = None) -> int:
    """Apply every migration newer than the store's version, up to ``target``.

    Each migration runs in its own transaction, so a failure leaves the file at
    the last good version. Returns the version the store is at afterwards.

    On a lake (``lake=True``), ``retry`` runs each step again when another process
    migrating the same new store at the same moment committed first; the step then
    finds the version already there and does nothing.
    """
    def run(step: Callable[[], int]) -> int:
        return retry(step) if retry is not None else step()

    def create_info() -> int:
        if not current_version_exists(con):
            with transaction(con):
                con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_info (version INTEGER, description VARCHAR,"
                    " migrated_at TIMESTAMP)"
                )
                if lake:
                    _prime(con, "schema_info")
        return 0

    def apply_all(migrations: tuple[Migration, ...]) -> int:
        with transaction(con):
            done = current_version(con)
            for migration in migrations:
                if migration.version <= done:  # another process was quicker
                    continue
                for statement in migration.for_backend(lake=lake):
                    con.execute(statement)
                    created = _CREATE_TABLE.match(statement) if lake else None
                    if created and "INSERT INTO" not in statement.upper():
                        _prime(con, created.group(1))
                con.execute(
                    "INSERT INTO schema_info VALUES (?, ?, now()::TIMESTAMP)",
                    [migration.version, migration.description],
                )
        return max(done, migrations[-1].version)

    def apply(migration: Migration) -> int:
        return apply_all((migration,))

    run(create_info)
    version = current_version(con)
    if lake and version == 0 and target is None:
        # A new team store: every version in one transaction (one snapshot, not eight).
        return run(lambda: apply_all(MIGRATIONS))
    for migration in MIGRATIONS:
        if migration.version <= version or (target is not None and migration.version > target):
            continue
        version = run(lambda m=migration: apply(m))
    return version


def current_version_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store has its ``schema_info`` table yet."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
        " AND table_catalog = current_database()"
    ).fetchone()[0])
