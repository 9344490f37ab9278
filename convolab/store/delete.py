"""Deleting a conversation with every row derived from it, audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convolab.errors import ConversationNotFound
from convolab.store import schema
from convolab.store.audit import write_audit
from convolab.store.detail import require

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["delete_conversation"]


def delete_conversation(store: Workbench, conversation_id: str, *, actor: str | None = None) -> dict[str, int]:
    """Delete a conversation and every row derived from it; audit who did it.

    Every table with a ``conversation_id`` column is cleared for that id, so tables
    added by later schema versions are covered without listing them. Returns the
    number of rows removed per table.
    """
    c = require(store, conversation_id)
    # On a team store a delete collides with any concurrent write to the same tables (an
    # ingest, a decision): the whole delete then runs again on the newer snapshot.
    return store.retrying(_delete, store, conversation_id, c, actor)


def _delete(store: Workbench, conversation_id: str, c: dict, actor: str | None) -> dict[str, int]:
    con = store._con
    removed: dict[str, int] = {}
    with store.transaction():
        if con.execute("SELECT count(*) FROM conversations WHERE id = ?", [conversation_id]).fetchone()[0] == 0:
            raise ConversationNotFound(conversation_id)  # another process deleted it first
        tables = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT table_name FROM information_schema.columns"
                " WHERE column_name = 'conversation_id' AND table_schema = 'main'"
                " AND table_catalog = current_database()"
                " AND table_name NOT IN (SELECT view_name FROM duckdb_views())"
                " AND table_name != 'rejected_records' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:  # names come from the catalogue, not from the caller
            n = con.execute(
                f'DELETE FROM "{table}" WHERE conversation_id = ?',  # noqa: S608 - catalogue names
                [conversation_id],
            ).fetchone()[0]
            removed[table] = int(n)
        con.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
        removed["conversations"] = 1
        # The order tables stay sorted without the row (positions may have gaps); a stale
        # one stays stale, as its recorded count keeps the same distance from the store's.
        # (A team store has none.)
        if store.lake is None:
            for name in schema.TABLE_ORDERS.values():  # fixed names
                con.execute(f"DELETE FROM {name} WHERE id = ?", [conversation_id])  # noqa: S608
            con.execute("UPDATE table_order_state SET conversations = conversations - 1")
        write_audit(
            store,
            "delete_conversation",
            target=conversation_id,
            details={"flow": c["flow"], "started_at": c["started_at"], "rows_removed": removed},
            actor=actor,
            result="deleted",
        )
    return removed
