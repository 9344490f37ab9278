"""Schema versions 5-7: what makes pages of the conversations table cheap.

Version 5 added child-table indexes (dropped again by 7), version 6 the
pre-sorted order tables, version 7 the page summaries on ``conversations``.
"""

from __future__ import annotations

from convolab.store.schema.core import V1_CORE

__all__ = ["TABLE_ORDERS", "V5_PAGE_INDEXES", "V6_TABLE_ORDERS", "V7_PAGE_SUMMARIES", "table_order_build"]

# Version 5: single-column (non-unique) indexes on the child tables the
# conversations table shows per row. A page looks up its <= 50 ids with an
# IN-list, which DuckDB answers from these indexes instead of scanning the whole
# child table (zone maps cannot prune a page whose ids are scattered across the
# store, e.g. when sorted by duration). Dropped again in version 7 (see there).
V5_PAGE_INDEXES = (
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


V6_TABLE_ORDERS = (
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
_V7_CONVERSATIONS_DDL = V1_CORE[0].replace("CREATE TABLE conversations (", "CREATE TABLE conversations_v7 (").replace(
    "ingested_at   TIMESTAMP\n", "ingested_at   TIMESTAMP,\n        " + _PAGE_SUMMARY_COLUMNS
)
assert _V7_CONVERSATIONS_DDL.count("function_names") == 1, "v1 DDL changed: v7 must keep its own copy"
V7_PAGE_SUMMARIES = (
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
