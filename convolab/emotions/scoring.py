"""Scoring the store's messages, incrementally, into the emotion tables.

Set-based SQL picks the (text, context) pairs a model has not scored yet,
deduplicated by ``md5(text)`` and ``md5(context)``, where the context of a
customer message is the agent turn before it (the ``message_contexts`` view);
Python only runs batched inference on them. See
:mod:`convolab.store.schema.emotions` for the tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from convolab.emotions.labels import LABELS, POLARITY_GROUPS
from convolab.emotions.model import EmotionModel, load_model

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["has_scores", "polarity_sql", "refresh_conversation_emotions", "score_store"]

CUSTOMER_ROLES = ("customer",)
AGENT_ROLES = ("agent", "human_agent")

# Texts per inference + insert round: big enough for fast inserts, small enough for
# a progress bar that moves and a bounded memory footprint.
_CHUNK = 1024

# Pairs to score. A model that reads no context scores each distinct text once and its
# scores are stored for every context the text appears in, so the scores view is the same
# equi-join on (text_hash, context_hash) whatever the model.
_PAIRS_SQL = """
SELECT md5(text) AS text_hash, context_hash, any_value(text) AS text, any_value(context) AS context
FROM message_contexts
WHERE list_contains(?, role) AND text IS NOT NULL AND trim(text) <> ''
GROUP BY 1, 2
"""

_MISSING_SQL = f"""
SELECT s.text_hash, s.context_hash, s.text, s.context
FROM ({_PAIRS_SQL}) AS s
WHERE NOT EXISTS (
    SELECT 1 FROM message_emotions AS e
    WHERE e.model_id = ? AND e.text_hash = s.text_hash AND e.context_hash = s.context_hash
)
ORDER BY length(s.text), s.text_hash, s.context_hash
"""  # noqa: S608 - fixed SQL

_DISTINCT_SQL = f"SELECT count(*) FROM ({_PAIRS_SQL})"  # noqa: S608 - fixed SQL


def _group_sql(group: str, prefix: str) -> str:
    return "(" + " + ".join(f"{prefix}{label}" for label in POLARITY_GROUPS[group]) + ")"


def polarity_sql(prefix: str = "") -> str:
    """SQL expression of the polarity rule (:func:`convolab.emotions.polarity`) over label columns.

    ``prefix`` qualifies the label columns, e.g. ``"e."``.
    """
    p, n, a = (_group_sql(g, prefix) for g in ("positive", "negative", "ambiguous"))
    return (
        f"CASE WHEN {prefix}neutral > greatest({p}, {n}, {a}) THEN 'neutral'"
        f" WHEN {p} >= {n} AND {p} >= {a} THEN 'positive'"
        f" WHEN {n} >= {a} THEN 'negative' ELSE 'ambiguous' END"
    )


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _group_sum(probs: np.ndarray, group: str) -> np.ndarray:
    return probs[:, [LABELS.index(label) for label in POLARITY_GROUPS[group]]].sum(1)


def _rows(
    model: EmotionModel, hashes: list[str], context_hashes: list[str], probs: np.ndarray
) -> Any:
    import pyarrow as pa

    pos, neg, amb = (_group_sum(probs, g) for g in ("positive", "negative", "ambiguous"))
    neutral = probs[:, LABELS.index("neutral")]
    stacked = np.stack([pos, neg, amb], axis=1)
    polarity = np.array(["positive", "negative", "ambiguous"])[stacked.argmax(1)]
    polarity = np.where(neutral > stacked.max(1), "neutral", polarity)
    sentiment = (pos - neg) / np.maximum(pos + neg + amb + neutral, 1e-6)
    above = probs >= model.thresholds
    emotions = [
        [LABELS[j] for j in np.argsort(-row) if hit[j]]
        for row, hit in zip(probs, above, strict=False)
    ]
    columns: dict[str, Any] = {
        "model_id": pa.array([model.model_id] * len(hashes), pa.string()),
        "text_hash": pa.array(hashes, pa.string()),
        "context_hash": pa.array(context_hashes, pa.string()),
    }
    for j, label in enumerate(LABELS):
        columns[label] = pa.array(probs[:, j], pa.float32())
    columns["emotions"] = pa.array(emotions, pa.list_(pa.string()))
    columns["polarity"] = pa.array(polarity.tolist(), pa.string())
    columns["sentiment"] = pa.array(sentiment.astype(np.float32), pa.float32())
    columns["scored_at"] = pa.array([_utcnow()] * len(hashes), pa.timestamp("us"))
    return pa.table(columns)


def _predict(model: EmotionModel, chunk: list[tuple[str, str, str, str | None]], batch_size: int) -> np.ndarray:
    """Probabilities for (text_hash, context_hash, text, context) rows.

    A model that reads no context runs once per distinct text in the chunk and its
    scores are copied to each context the text was seen in.
    """
    if model.uses_context:
        return model.predict_proba(
            [r[2] for r in chunk], [r[3] for r in chunk], batch_size=batch_size
        )
    first: dict[str, int] = {}
    for i, row in enumerate(chunk):
        first.setdefault(row[0], i)
    unique = model.predict_proba([chunk[i][2] for i in first.values()], batch_size=batch_size)
    where = {h: k for k, h in enumerate(first)}
    return unique[[where[row[0]] for row in chunk]]


def score_store(
    store: Workbench,
    *,
    model: str | EmotionModel | None = None,
    batch_size: int = 64,
    include_agent: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every not-yet-scored message of the store, in its context, with an emotion model.

    A customer message is scored after the agent turn before it (see
    :mod:`convolab.emotions.inputs`). Scores are keyed by ``(model_id, md5(text),
    md5(context))``, so a re-run only scores new pairs, identical pairs are scored
    once, and an unchanged store scores nothing. Afterwards
    ``conversation_emotions`` is rebuilt for this model.

    Parameters
    ----------
    store : Workbench
        Connection to a store migrated to schema version 2 or later.
    model : str or EmotionModel, optional
        As for :func:`~convolab.emotions.model.load_model`; ``None`` is the default.
    batch_size : int
        Texts per forward pass.
    include_agent : bool
        Also score ``agent`` and ``human_agent`` messages (customer messages always).
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk of texts.

    Returns
    -------
    dict
        ``scored`` ((text, context) pairs scored now), ``skipped`` (distinct pairs already
        scored),
        ``model_id``, ``conversations`` (rows in ``conversation_emotions`` for it).
    """
    m = model if isinstance(model, EmotionModel) else load_model(model)
    roles = list(CUSTOMER_ROLES + (AGENT_ROLES if include_agent else ()))
    started = _utcnow()
    missing = store.execute(_MISSING_SQL, [roles, m.model_id]).fetchall()
    distinct = store.execute(_DISTINCT_SQL, [roles]).fetchone()[0]
    total = len(missing)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, _CHUNK):
        chunk = missing[start : start + _CHUNK]
        probs = _predict(m, chunk, batch_size)
        batch = _rows(m, [r[0] for r in chunk], [r[1] for r in chunk], probs)
        with store.registered("_convolab_emotion_batch", batch):
            store.execute("INSERT INTO message_emotions BY NAME SELECT * FROM _convolab_emotion_batch")
        if progress is not None:
            progress(min(start + _CHUNK, total), total)
    conversations = refresh_conversation_emotions(store, m.model_id)
    store.execute(
        "INSERT INTO emotion_runs VALUES (?, ?, ?, ?, ?)",
        [m.model_id, started, _utcnow(), total, distinct - total],
    )
    return {
        "scored": total,
        "skipped": int(distinct - total),
        "model_id": m.model_id,
        "conversations": conversations,
    }


def has_scores(store: Workbench) -> bool:
    """Whether any scoring run has written emotion scores to the store."""
    return bool(store.execute("SELECT count(*) FROM emotion_runs").scalar())


def _mean_columns(prefix: str = "") -> str:
    return ", ".join(f"avg({prefix}{label}) AS {label}" for label in LABELS)


def refresh_conversation_emotions(store: Workbench, model_id: str) -> int:
    """Rebuild ``conversation_emotions`` for one model from its customer-message scores.

    Parameters
    ----------
    store : Workbench
        The store.
    model_id : str
        Which model's scores to summarise.

    Returns
    -------
    int
        Number of conversations written.
    """
    emotion_labels = [label for label in LABELS if label != "neutral"]
    # Label -> mean score pairs as a list of structs, sorted in SQL to get the top 3.
    pairs = ", ".join(f"{{'score': {label}, 'label': '{label}'}}" for label in emotion_labels)
    means = _mean_columns()
    # Only label names from the fixed LABELS tuple are formatted in; values are bound.
    # MATERIALIZED: the view's window runs once, not once per CTE reference.
    sql = f"""
    WITH scored AS MATERIALIZED (
        SELECT s.*,
               row_number() OVER (PARTITION BY conversation_id ORDER BY seq) AS k,
               count(*) OVER (PARTITION BY conversation_id) AS n
        FROM message_emotion_scores AS s
        WHERE s.model_id = ? AND s.role = 'customer'
    ),
    overall AS (
        SELECT conversation_id, any_value(n)::INTEGER AS n_messages,
               avg(sentiment) AS sentiment, {means}
        FROM scored GROUP BY conversation_id
    ),
    head AS (
        SELECT conversation_id, avg(sentiment) AS sentiment_start, {means}
        FROM scored WHERE k <= ceil(n / 3.0) GROUP BY conversation_id
    ),
    tail AS (
        SELECT conversation_id, avg(sentiment) AS sentiment_end, {means}
        FROM scored WHERE k > n - ceil(n / 3.0) GROUP BY conversation_id
    ),
    ranked AS (
        SELECT conversation_id,
               list_slice(list_reverse(list_sort([{pairs}], 'ASC')), 1, 3) AS top
        FROM overall
    )
    SELECT o.conversation_id, ? AS model_id, o.n_messages,
           [t.label FOR t IN r.top] AS top_emotions,
           [t.score::DOUBLE FOR t IN r.top] AS top_scores,
           {polarity_sql("o.")} AS polarity,
           o.sentiment,
           {polarity_sql("h.")} AS start_polarity,
           {polarity_sql("t.")} AS end_polarity,
           h.sentiment_start, t.sentiment_end,
           CASE WHEN t.sentiment_end - h.sentiment_start > 0.1 THEN 'improved'
                WHEN t.sentiment_end - h.sentiment_start < -0.1 THEN 'worsened'
                ELSE 'unchanged' END AS trend,
           now()::TIMESTAMP AS refreshed_at
    FROM overall AS o
    JOIN head AS h USING (conversation_id)
    JOIN tail AS t USING (conversation_id)
    JOIN ranked AS r USING (conversation_id)
    """  # noqa: S608
    with store.transaction():
        store.execute("DELETE FROM conversation_emotions WHERE model_id = ?", [model_id])
        store.execute(f"INSERT INTO conversation_emotions {sql}", [model_id, model_id])
    row = store.execute(
        "SELECT count(*) FROM conversation_emotions WHERE model_id = ?", [model_id]
    ).fetchone()
    return int(row[0])
