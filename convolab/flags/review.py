"""QA decisions on review flags: confirm, dismiss, add a manual flag (all audited).

Which decision counts (the newest) is the store's rule, in
:mod:`convolab.store.reviews`; this module records decisions. Each decision and
its audit entry are written in one transaction, as the reviewer who made it: an
explicit ``reviewer``, else :func:`convolab.store.current_actor` (the Jupyter
or JupyterHub user, ``CONVOLAB_USER``, the OS user).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convolab.errors import ConversationNotFound, ConvolabError, FlagNotFound, InvalidArgument
from convolab.flags.criteria import NAME_PATTERN, SEVERITIES
from convolab.store import current_actor

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["DECISIONS", "add_manual_flag", "confirm_flag", "decide", "dismiss_flag"]

#: The decisions a reviewer can record on a flag.
DECISIONS = ("confirmed", "dismissed")
_NOTE_MAX = 10_000


def decide(store: Workbench, flag_id: int, decision: str, *, reviewer: str | None = None,
           note: str | None = None) -> dict[str, object]:
    """Record a reviewer's decision on a flag (audited); returns what was recorded.

    Parameters
    ----------
    store
        The store.
    flag_id
        ``flags.flag_id``.
    decision
        ``"confirmed"`` or ``"dismissed"``.
    reviewer
        Who decided; default :func:`convolab.store.current_actor`.
    note
        Optional free text (at most 10,000 characters).

    Raises
    ------
    FlagNotFound
        No flag has this id.
    """
    if decision not in DECISIONS:
        raise InvalidArgument(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if isinstance(flag_id, bool) or not isinstance(flag_id, int):
        raise InvalidArgument(f"flag id must be a whole number, got {flag_id!r}")
    reviewer = reviewer or current_actor()
    if note is not None and len(note) > _NOTE_MAX:
        raise InvalidArgument(f"a note may have at most {_NOTE_MAX:,} characters")
    row = store.execute("SELECT conversation_id, criterion FROM flags WHERE flag_id = ?", [flag_id]).fetchone()
    if row is None:
        raise FlagNotFound(flag_id)
    conversation_id, criterion = row

    def record() -> None:
        with store.transaction():
            store.execute(
                "INSERT INTO flag_decisions (flag_id, conversation_id, criterion, decision, reviewer, note, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [flag_id, conversation_id, criterion, decision, reviewer, note],
            )
            action = {"confirmed": "confirm_flag", "dismissed": "dismiss_flag"}[decision]
            store.audit(action, target=conversation_id, actor=reviewer, result=decision,
                        details={"flag_id": flag_id, "criterion": criterion, "note": note})

    store.retrying(record)  # a team store runs it again if its commit collides with another's
    return {"flag_id": flag_id, "conversation_id": conversation_id, "criterion": criterion,
            "decision": decision, "reviewer": reviewer, "note": note}


def confirm_flag(store: Workbench, flag_id: int, *, reviewer: str | None = None, note: str | None = None) -> None:
    """Record that a reviewer confirmed a flag (audited); see :func:`decide`."""
    decide(store, flag_id, "confirmed", reviewer=reviewer, note=note)


def dismiss_flag(store: Workbench, flag_id: int, *, reviewer: str | None = None, note: str | None = None) -> None:
    """Record that a reviewer dismissed a flag (audited); see :func:`decide`."""
    decide(store, flag_id, "dismissed", reviewer=reviewer, note=note)


def add_manual_flag(
    store: Workbench,
    conversation_id: str,
    criterion: str,
    *,
    reason: str,
    reviewer: str | None = None,
    severity: str = "medium",
) -> int:
    """Raise a flag by hand (``source='manual'``; kept across criteria re-runs). Returns its flag_id.

    ``criterion`` is a name like the built-in ones (lower-case letters, digits and
    underscores); ``reviewer`` defaults to :func:`convolab.store.current_actor`.
    """
    if severity not in SEVERITIES:
        raise ConvolabError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    if not isinstance(criterion, str) or not NAME_PATTERN.fullmatch(criterion):
        raise InvalidArgument(
            f"criterion names are lower-case letters, digits and underscores, got {criterion!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("a manual flag needs a reason")
    reviewer = reviewer or current_actor()
    if not store.has_conversation(conversation_id):
        raise ConversationNotFound(conversation_id)

    def record() -> int:
        with store.transaction():
            flag_id = store.execute(f"SELECT {store.new_id_sql('flags')}").scalar()
            store.execute(
                "INSERT INTO flags (flag_id, conversation_id, criterion, severity, reason, evidence, source,"
                " created_by, created_at) VALUES (?, ?, ?, ?, ?, NULL, 'manual', ?, now()::TIMESTAMP)",
                [flag_id, conversation_id, criterion, severity, reason, reviewer],
            )
            store.audit("add_manual_flag", target=conversation_id, actor=reviewer, result="added",
                        details={"flag_id": flag_id, "criterion": criterion, "severity": severity, "reason": reason})
        return int(flag_id)

    return store.retrying(record)
