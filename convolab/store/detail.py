"""One conversation as the detail view shows it: fields in the contract's order."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import polars as pl

from convolab.conversations import PLATFORM_ICONS
from convolab.emotions.labels import LABELS
from convolab.errors import ConversationNotFound, InvalidArgument
from convolab.store.reviews import list_flags

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["conversation", "functions", "require", "transcript"]


def require(store: Workbench, conversation_id: str) -> dict[str, Any]:
    """The ``conversations`` row of one id, or :class:`ConversationNotFound`."""
    if not isinstance(conversation_id, str):
        raise InvalidArgument(f"a conversation id is a string, got {type(conversation_id).__name__}"
                              f" {conversation_id!r:.60}")
    cursor = store._run("SELECT * FROM conversations WHERE id = ?", [conversation_id])
    row = cursor.fetchone()
    if row is None:
        raise ConversationNotFound(conversation_id)
    names = [d[0] for d in cursor.description]
    return dict(zip(names, row, strict=True))


def transcript(store: Workbench, conversation_id: str) -> pl.DataFrame:
    """The messages of one conversation in order: seq, role, text, sent_at."""
    require(store, conversation_id)
    return store.sql(
        "SELECT seq, role, text, sent_at FROM messages WHERE conversation_id = ? ORDER BY seq",
        [conversation_id],
    )


def functions(store: Workbench, conversation_id: str) -> pl.DataFrame:
    """The function calls of one conversation: seq, name, arguments, output, status, called_at."""
    require(store, conversation_id)
    return store.sql(
        "SELECT seq, name, arguments, output, status, called_at FROM function_calls"
        " WHERE conversation_id = ? ORDER BY seq",
        [conversation_id],
    )


def conversation(store: Workbench, conversation_id: str) -> dict[str, Any]:
    """Everything the detail view shows, with keys in the contract's order (see :meth:`Workbench.conversation`)."""
    c = require(store, conversation_id)
    tags = dict(store._run(
        "SELECT key, value FROM tags WHERE conversation_id = ? ORDER BY key", [conversation_id]
    ).fetchall())
    parameters = dict(store._run(
        "SELECT key, value FROM parameters WHERE conversation_id = ? ORDER BY key", [conversation_id]
    ).fetchall())
    calls = [
        {**f, "arguments": _loads(f["arguments"]), "output": _loads(f["output"])}
        for f in functions(store, conversation_id).to_dicts()
    ]
    return {
        "id": c["id"],
        "flow": c["flow"],
        "contact": c["contact"],
        "platform": c["platform"],
        "platform_icon": PLATFORM_ICONS.get(c["platform"] or "", ""),
        "contact_id": c["contact_id"],
        "status": c["status"],
        "tags": tags,
        "sentiment": _sentiment(store, conversation_id),
        "duration_s": c["duration_s"],
        "started_at": c["started_at"],
        "ended_at": c["ended_at"],
        "review_flags": list_flags(store, conversation_id=conversation_id).to_dicts(),
        "summary": c["summary"],
        "analysis": c["analysis"],
        "transcript": _with_emotions(store, conversation_id, transcript(store, conversation_id).to_dicts()),
        "functions": calls,
        "parameters": parameters,
        "recording": c["recording"],
    }


#: Top emotions listed per scored message in the detail (those at or above the model's thresholds).
_TOP_EMOTIONS = 3


def _with_emotions(store: Workbench, conversation_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message with its ``polarity``, ``sentiment`` and top ``emotions`` (``{emotion, score}``).

    Scores come from the model of the conversation's newest scoring run, as the
    sentiment summary does; messages that were not scored (agent turns, an
    unscored store) get ``None`` and ``[]``.
    """
    labels = ", ".join(f"e.{label}" for label in LABELS)
    # The scores view pairs each message with its context (the agent turn before it);
    # the conversation filter is pushed below its window, so this reads one conversation.
    rows = store._run(
        f"""
        SELECT e.seq, e.polarity, e.sentiment, e.emotions, {labels}
        FROM message_emotion_scores e
        WHERE e.conversation_id = ?
          AND e.model_id = (SELECT model_id FROM conversation_emotions WHERE conversation_id = ?
                            ORDER BY refreshed_at DESC LIMIT 1)
        """,  # noqa: S608 - label names come from the fixed LABELS tuple
        [conversation_id, conversation_id],
    ).fetchall()
    scored = {}
    for seq, polarity, sentiment, emotions, *scores in rows:
        by_label = dict(zip(LABELS, scores, strict=True))
        top = [{"emotion": label, "score": None if by_label.get(label) is None else round(float(by_label[label]), 4)}
               for label in (emotions or [])[:_TOP_EMOTIONS]]
        scored[seq] = {"polarity": polarity, "sentiment": None if sentiment is None else round(float(sentiment), 4),
                       "emotions": top}
    empty = {"polarity": None, "sentiment": None, "emotions": []}
    return [{**m, **scored.get(m["seq"], empty)} for m in messages]


def _sentiment(store: Workbench, conversation_id: str) -> dict[str, Any] | None:
    """The conversation's emotion summary from the newest scoring run, if it was scored."""
    cursor = store._run(
        "SELECT * FROM conversation_emotions WHERE conversation_id = ? ORDER BY refreshed_at DESC LIMIT 1",
        [conversation_id],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def _loads(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError, RecursionError):
        # RecursionError: a value nested thousands deep (ingest now refuses those, older
        # stores may hold one) stays text rather than breaking show, export and delete
        return value
