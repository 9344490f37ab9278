"""QA decisions on review flags: confirm, dismiss, add a manual flag (all audited)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from convolab._db import transaction
from convolab.errors import ConversationNotFound, ConvolabError
from convolab.flags.criteria import SEVERITIES

__all__ = ["add_manual_flag", "confirm_flag", "dismiss_flag"]


def _audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, target: str,
           details: dict[str, Any], result: str) -> None:
    con.execute(
        "INSERT INTO audit_log (occurred_at, actor, action, target, details, result)"
        " VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?)",
        [actor, action, target, json.dumps(details, default=str), result],
    )


def _decide(con: duckdb.DuckDBPyConnection, flag_id: int, decision: str, reviewer: str, note: str | None) -> None:
    row = con.execute("SELECT conversation_id, criterion FROM flags WHERE flag_id = ?", [flag_id]).fetchone()
    if row is None:
        raise ConvolabError(f"no flag with id {flag_id}; list flags with `convolab flags`")
    if not reviewer:
        raise ConvolabError("a reviewer name is required for a QA decision")
    conversation_id, criterion = row
    with transaction(con):
        con.execute(
            "INSERT INTO flag_decisions (flag_id, conversation_id, criterion, decision, reviewer, note, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [flag_id, conversation_id, criterion, decision, reviewer, note],
        )
        action = {"confirmed": "confirm_flag", "dismissed": "dismiss_flag"}[decision]
        _audit(con, reviewer, action, conversation_id, {"flag_id": flag_id, "criterion": criterion, "note": note}, decision)


def confirm_flag(con: duckdb.DuckDBPyConnection, flag_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Record that a reviewer confirmed a flag (audited).

    Parameters
    ----------
    con
        The store's DuckDB connection.
    flag_id
        ``flags.flag_id``.
    reviewer
        Who decided; written to ``flag_decisions`` and the audit log.
    note
        Optional free text.
    """
    _decide(con, flag_id, "confirmed", reviewer, note)


def dismiss_flag(con: duckdb.DuckDBPyConnection, flag_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Record that a reviewer dismissed a flag (audited); see :func:`confirm_flag`."""
    _decide(con, flag_id, "dismissed", reviewer, note)


def add_manual_flag(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    criterion: str,
    *,
    reviewer: str,
    reason: str,
    severity: str = "medium",
) -> int:
    """Raise a flag by hand (``source='manual'``; kept across criteria re-runs). Returns its flag_id."""
    if severity not in SEVERITIES:
        raise ConvolabError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    if con.execute("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is None:
        raise ConversationNotFound(conversation_id)
    with transaction(con):
        flag_id = con.execute(
            "INSERT INTO flags (conversation_id, criterion, severity, reason, evidence, source, created_by, created_at)"
            " VALUES (?, ?, ?, ?, NULL, 'manual', ?, now()::TIMESTAMP) RETURNING flag_id",
            [conversation_id, criterion, severity, reason, reviewer],
        ).fetchone()[0]
        _audit(con, reviewer, "add_manual_flag", conversation_id,
               {"flag_id": flag_id, "criterion": criterion, "severity": severity, "reason": reason}, "added")
    return int(flag_id)
