"""Review flags as the store reads them: which decision counts, which flags are open.

A flag is decided by QA decisions keyed by (conversation_id, criterion), so a
decision follows a flag that a criteria re-run raises again. The newest decision
wins; this module is the one place that says so (:func:`latest_decisions_sql`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["latest_decisions_sql", "list_flags", "open_flags_sql", "unreviewed_flags"]


def latest_decisions_sql(restrict: str = "") -> str:
    """SQL selecting the newest decision per (conversation_id, criterion) of ``flag_decisions``.

    ``restrict`` is an optional ``IN (...)`` test on ``d.conversation_id`` (placeholders
    or a subquery, never data), so a page reads only its own decisions. Two decisions
    recorded in the same microsecond (two reviewers at once) are ordered by the
    decision itself, so every reader picks the same one: ``dismissed`` then.
    """
    where = f"WHERE d.conversation_id {restrict}" if restrict else ""
    return f"""
        SELECT d.* FROM flag_decisions d {where}
        QUALIFY row_number() OVER (PARTITION BY d.conversation_id, d.criterion
                                   ORDER BY d.decided_at DESC, d.decision DESC) = 1
    """  # noqa: S608 - restrict is placeholders or a subquery


def open_flags_sql(ids: str = "") -> str:
    """SQL selecting ``f.conversation_id`` of every open flag (alias ``f``).

    A flag counts as open ("🚩") unless its newest QA decision dismissed it. ``ids``
    (e.g. ``"IN (?, ?)"``) restricts both flags and decisions to some conversations;
    its placeholders are bound twice (decisions, then flags).
    """
    restrict_f = f"AND f.conversation_id {ids}" if ids else ""
    return f"""
        SELECT f.conversation_id FROM flags f
        WHERE NOT EXISTS (
            SELECT 1 FROM ({latest_decisions_sql(ids)}) x
            WHERE x.conversation_id = f.conversation_id AND x.criterion = f.criterion
              AND x.decision = 'dismissed'
        ) {restrict_f}
    """  # noqa: S608 - ids is an IN-list of placeholders or a subquery, never data


def list_flags(store: Workbench, *, conversation_id: str | None = None,
               criterion: str | None = None) -> pl.DataFrame:
    """Review flags with their newest QA decision (if any), newest flags first."""
    clauses, params = [], []
    if conversation_id is not None:
        clauses.append("f.conversation_id = ?")
        params.append(conversation_id)
    if criterion is not None:
        clauses.append("f.criterion = ?")
        params.append(criterion)
    where = " AND ".join(clauses) or "TRUE"
    return store.sql(
        f"""
        SELECT f.flag_id, f.conversation_id, f.criterion, f.severity, f.reason, f.evidence,
               f.criteria_version, f.source, f.created_at,
               d.decision, d.reviewer, d.note, d.decided_at
        FROM flags f
        LEFT JOIN ({latest_decisions_sql()}) d
               ON d.conversation_id = f.conversation_id AND d.criterion = f.criterion
        WHERE {where}
        ORDER BY f.created_at DESC, f.conversation_id, f.criterion
        """,  # noqa: S608 - `where` joins fixed clauses; the values are bound params
        params,
    )


def unreviewed_flags(store: Workbench, *, limit: int = 200) -> pl.DataFrame:
    """Flags no reviewer has decided yet, newest first: the QA queue.

    Columns: flag_id, conversation_id, criterion, severity, created_at.
    """
    return store.sql(
        """
        SELECT f.flag_id, f.conversation_id, f.criterion, f.severity, f.created_at
        FROM flags f
        WHERE NOT EXISTS (SELECT 1 FROM flag_decisions d
                          WHERE d.conversation_id = f.conversation_id AND d.criterion = f.criterion)
        ORDER BY f.created_at DESC, f.conversation_id, f.criterion
        LIMIT ?
        """,
        [limit],
    )
