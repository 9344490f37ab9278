"""The DuckDB schema and its forward migrations.

A store file records the schema version it was last migrated to in
``schema_info``; :func:`migrate` applies every newer migration in order, so a
file written by an older convolab opens with a newer one. Migrations are
append-only once released: change the schema by adding a new version, never by
editing an old one.

Timestamps are stored as naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

__all__ = ["SCHEMA_VERSION", "TABLE_ORDERS", "Migration", "MIGRATIONS", "migrate", "current_version",
           "table_order_build"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# Child tables carry no primary keys on purpose: ingest guarantees
# (conversation_id, seq) / (conversation_id, key) uniqueness set-based, and index
# maintenance would dominate bulk loads. A load writes rows in roughly chunked load
# order (several threads), so DuckDB's min/max zone maps still keep one
# conversation's lookups cheap; readers order by seq, never by storage order.
# (Version 5 added conversation_id indexes on function_calls, tags and parameters
# for table pages; version 7 dropped them again for summary columns on
# conversations, see _V7_PAGE_SUMMARIES.)
_V1_CORE = (
    """
    CREATE TABLE conversations (
        id            VARCHAR PRIMARY KEY,
        flow          VARCHAR,
        platform      VARCHAR,          -- phone | web
        contact       VARCHAR,
        contact_id    VARCHAR,
        status        VARCHAR,          -- see convolab.conversations.STATUSES
        started_at    TIMESTAMP,
        ended_at      TIMESTAMP,
        duration_s    DOUBLE,
        summary       VARCHAR,
        analysis      VARCHAR,
        recording     VARCHAR,
        message_count INTEGER,
        function_count INTEGER,
        last_message  VARCHAR,
        last_message_at TIMESTAMP,
        extra         JSON,             -- fields we do not model, kept so nothing is lost
        content_hash  VARCHAR,          -- hash of the source record; unchanged => no rewrite
        source_file   VARCHAR,
        source_line   BIGINT,
        ingested_at   TIMESTAMP
    )
    """,
    """
    CREATE TABLE messages (
        conversation_id VARCHAR NOT NULL,
        seq           INTEGER NOT NULL,  -- 0-based position in the transcript
        role          VARCHAR NOT NULL,  -- customer | agent | human_agent | supervisor | system
        text          VARCHAR,
        sent_at       TIMESTAMP
    )
    """,
    """
    CREATE TABLE function_calls (
        conversation_id VARCHAR NOT NULL,
        seq           INTEGER NOT NULL,
        name          VARCHAR NOT NULL,
        arguments     JSON,
        output        JSON,
        status        VARCHAR,           -- ok | error | no_result
        called_at     TIMESTAMP,
        call_ref      VARCHAR            -- tool_call id from OpenAI-style sources
    )
    """,
    """
    CREATE TABLE tags (
        conversation_id VARCHAR NOT NULL,
        key           VARCHAR NOT NULL,
        value         VARCHAR
    )
    """,
    """
    CREATE TABLE parameters (
        conversation_id VARCHAR NOT NULL,
        key           VARCHAR NOT NULL,
        value         VARCHAR
    )
    """,
    "CREATE SEQUENCE load_seq START 1",
    """
    CREATE TABLE loads (
        load_id       BIGINT PRIMARY KEY,
        file          VARCHAR,
        format        VARCHAR,
        loaded        BIGINT,
        unchanged     BIGINT,
        rejected      BIGINT,
        started_at    TIMESTAMP,
        finished_at   TIMESTAMP
    )
    """,
    """
    CREATE TABLE rejected_records (
        load_id       BIGINT,
        file          VARCHAR NOT NULL,
        line          BIGINT,
        conversation_id VARCHAR,
        reason        VARCHAR NOT NULL,
        record        VARCHAR,           -- the raw text (truncated), for fixing and re-loading
        rejected_at   TIMESTAMP
    )
    """,
    "CREATE SEQUENCE audit_seq START 1",
    """
    CREATE TABLE audit_log (
        id            BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
        occurred_at   TIMESTAMP NOT NULL,
        actor         VARCHAR NOT NULL,
        action        VARCHAR NOT NULL,
        target        VARCHAR,
        details       JSON,
        result        VARCHAR
    )
    """,
)

# Version 2 belongs to emotion scoring, 3 to review flags, 4 to live calls and
# audio. Each domain module owns its DDL; this list only fixes the order.

# Version 5: single-column (non-unique) indexes on the child tables the
# conversations table shows per row. A page looks up its <= 50 ids with an
# IN-list, which DuckDB answers from these indexes instead of scanning the whole
# child table (zone maps cannot prune a page whose ids are scattered across the
# store, e.g. when sorted by duration). Dropped again in version 7 (see there).
_V5_PAGE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS function_calls_conversation ON function_calls (conversation_id)",
    "CREATE INDEX IF NOT EXISTS tags_conversation ON tags (conversation_id)",
    "CREATE INDEX IF NOT EXISTS parameters_conversation ON parameters (conversation_id)",
)


# Version 6: one narrow "order" table per sort key of the conversations table, the store's
# conversations pre-sorted by that key. A page sorted by a key scans the front of its order
# table (the rows are physically in ascending order; ``desc_pos`` is monotone per row group
# too, so zone maps prune for both directions) instead of sorting every matching
# conversation, so the cost of a page follows the page, not the store. They hold the
# columns ConversationFilter tests on ``c`` (id, status, flow, platform, started_at), so the
# filters' SQL runs on them unchanged. ``table_order_state`` records, per sort key, how many
# conversations the table was built from and its last position; a missing or disagreeing
# row means "stale: do not use" (see convolab.store). Sorting by open flags has no order
# table: flags change outside ingest.
#: Sort expression (over alias ``c``) -> the name of its order table.
TABLE_ORDERS: dict[str, str] = {
    "c.id": "table_order_id",
    "c.flow": "table_order_flow",
    "c.platform": "table_order_platform",
    "c.contact": "table_order_contact",
    "c.status": "table_order_status",
    "c.duration_s": "table_order_duration",
    "c.last_message": "table_order_last_message",
    "c.started_at": "table_order_date",
    "c.function_count": "table_order_functions",
}


def table_order_build(expression: str) -> tuple[str, ...]:
    """Statements that (re)build the order table of one sort expression and record it as fresh.

    Run them in one transaction. ``asc_pos`` / ``desc_pos`` number the rows exactly as
    ``ORDER BY <expr> ASC|DESC NULLS LAST, c.id ASC|DESC`` does (ids are unique, so ties
    cannot reorder).
    """
    name = TABLE_ORDERS[expression]  # fixed map: the expression and name are never user text
    return (
        f"""
        CREATE OR REPLACE TABLE {name} AS
        SELECT row_number() OVER (ORDER BY {expression} ASC NULLS LAST, c.id ASC) AS asc_pos,
               row_number() OVER (ORDER BY {expression} DESC NULLS LAST, c.id DESC) AS desc_pos,
               c.id, c.status, c.flow, c.platform, c.started_at
        FROM conversations c ORDER BY asc_pos
        """,  # noqa: S608 - fixed map
        f"""
        INSERT OR REPLACE INTO table_order_state
        SELECT '{name}', count(*), count(*), now()::TIMESTAMP FROM {name}
        """,  # noqa: S608 - fixed map
    )


_V6_TABLE_ORDERS = (
    """
    CREATE TABLE IF NOT EXISTS table_order_state (
        name          VARCHAR PRIMARY KEY,  -- the order table
        conversations BIGINT NOT NULL,      -- count(*) of conversations it stands for
        last_pos      BIGINT NOT NULL,      -- its highest position (deletes leave gaps)
        built_at      TIMESTAMP
    )
    """,
    *(statement for expression in TABLE_ORDERS for statement in table_order_build(expression)),
)


# Version 7: what a conversations-table row shows of its children, kept on the row itself
# as JSON text: ``function_names`` (a list, in call order; ``[]`` when none),
# ``tag_entries`` and ``parameter_entries`` (``[{"key", "value"}, ...]`` sorted by key;
# NULL when none). Ingest computes them while staging, in parallel, so a page reads its 50
# rows from ``conversations`` alone and the version-5 child indexes go: keeping three ART
# indexes up to date cost about 16% of a bulk load (bench/ingest.py). JSON text rather
# than typed lists because DuckDB writes list-of-struct columns several times slower
# (typed lists cost about 9% of a bulk load, the text about 3%); a page decodes its own 50 rows.
# One conversation's child rows are still found cheaply by zone maps (see the note on
# child tables above). The child tables stay the source of truth for SQL, flags and the
# detail view; plain-SQL writers of them should rewrite these columns too (ingest does).
# The table is rebuilt rather than UPDATEd: an UPDATE of these columns on the indexed
# table took ~50 s per column at 1M conversations, the rebuild a few seconds.
_PAGE_SUMMARY_COLUMNS = (
    "function_names JSON,           -- table-page summaries (see above)\n"
    "        tag_entries   JSON,\n"
    "        parameter_entries JSON\n"
)
_V7_CONVERSATIONS_DDL = _V1_CORE[0].replace("CREATE TABLE conversations (", "CREATE TABLE conversations_v7 (").replace(
    "ingested_at   TIMESTAMP\n", "ingested_at   TIMESTAMP,\n        " + _PAGE_SUMMARY_COLUMNS
)
assert _V7_CONVERSATIONS_DDL.count("function_names") == 1, "v1 DDL changed: v7 must keep its own copy"
_V7_PAGE_SUMMARIES = (
    _V7_CONVERSATIONS_DDL,
    """
    INSERT INTO conversations_v7 BY NAME
    SELECT c.*, to_json(coalesce(f.names, [])) AS function_names, to_json(t.entries) AS tag_entries,
           to_json(p.entries) AS parameter_entries
    FROM conversations c
    LEFT JOIN (SELECT conversation_id, list(name ORDER BY seq) AS names FROM function_calls GROUP BY 1) f
           ON f.conversation_id = c.id
    LEFT JOIN (SELECT conversation_id, list({'key': key, 'value': value} ORDER BY key) AS entries
               FROM tags GROUP BY 1) t ON t.conversation_id = c.id
    LEFT JOIN (SELECT conversation_id, list({'key': key, 'value': value} ORDER BY key) AS entries
               FROM parameters GROUP BY 1) p ON p.conversation_id = c.id
    ORDER BY c.rowid
    """,
    "DROP TABLE conversations",
    "ALTER TABLE conversations_v7 RENAME TO conversations",
    "DROP INDEX IF EXISTS function_calls_conversation",
    "DROP INDEX IF EXISTS tags_conversation",
    "DROP INDEX IF EXISTS parameters_conversation",
)


def _domain_migrations() -> list[Migration]:
    from convolab.emotions import schema as emotions_schema
    from convolab.flags import schema as flags_schema
    from convolab.live import schema as live_schema

    return [emotions_schema.MIGRATION, flags_schema.MIGRATION, live_schema.MIGRATION]


def _all_migrations() -> list[Migration]:
    migrations = [
        Migration(1, "core conversation tables", _V1_CORE),
        *_domain_migrations(),
        Migration(5, "indexes for conversations-table pages", _V5_PAGE_INDEXES),
        Migration(6, "pre-sorted order tables for conversations-table pages", _V6_TABLE_ORDERS),
        Migration(7, "table-page summaries on conversations instead of child indexes", _V7_PAGE_SUMMARIES),
    ]
    migrations.sort(key=lambda m: m.version)
    return migrations


MIGRATIONS: Callable[[], list[Migration]] = _all_migrations
SCHEMA_VERSION = 7


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
    for migration in _all_migrations():
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
