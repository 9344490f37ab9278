"""Tables for emotion scores (schema version 2).

Written by :func:`convolab.emotions.scoring.score_store`; read by review flags,
widgets and reports. Every score is a probability in [0, 1] from a multi-label
model (sigmoid per label), so label scores of one message do not sum to 1.

``message_emotions`` — one row per distinct message text per model
    ``model_id VARCHAR``      the model's identity, e.g. ``convolab-minilm-goemotions@1a2b3c4d5e6f+int8``
    ``text_hash VARCHAR``     ``md5(messages.text)``; join with ``md5(m.text) = text_hash``
    ``admiration FLOAT`` … ``neutral FLOAT``  one column per GoEmotions label, named
                              after it, in label-id order (see ``convolab.emotions.LABELS``)
    ``emotions VARCHAR[]``    labels at/above the model's per-label threshold, highest first
    ``polarity VARCHAR``      positive | negative | ambiguous | neutral (see below)
    ``sentiment FLOAT``       (P - N) / (P + N + A + neutral), in [-1, 1], where P, N, A are
                              the summed scores of the positive, negative and ambiguous groups
    ``scored_at TIMESTAMP``   UTC
    Primary key (model_id, text_hash): identical texts are scored once.

``message_emotion_scores`` (view) — ``messages`` joined to ``message_emotions``:
    ``conversation_id, seq, role, sent_at, model_id, text_hash, <28 label columns>, emotions,
    polarity, sentiment``. Only roles that were scored appear (customer by default).
    Example flag query: ``SELECT conversation_id, max(anger) FROM message_emotion_scores
    WHERE model_id = ? AND role = 'customer' GROUP BY ALL``.

``conversation_emotions`` — one row per conversation per model, over its *customer* messages
    ``conversation_id VARCHAR, model_id VARCHAR``
    ``n_messages INTEGER``    customer messages with scores
    ``top_emotions VARCHAR[]`` the 3 labels with the highest *mean* score over the customer
                              messages, ``neutral`` excluded (mean, not max, so one outburst
                              does not define a whole call; use the view for max)
    ``top_scores DOUBLE[]``   their mean scores, same order
    ``polarity VARCHAR``      polarity of the mean label scores (rule below)
    ``sentiment DOUBLE``      mean message ``sentiment``
    ``start_polarity, end_polarity VARCHAR``  polarity of the mean scores over the first third
                              / last third of customer messages (ceil(n/3) messages each, so a
                              one-message conversation has start = end)
    ``sentiment_start, sentiment_end DOUBLE``  mean ``sentiment`` over those same messages
    ``trend VARCHAR``         improved | worsened | unchanged: sentiment_end - sentiment_start
                              above 0.1, below -0.1, or within
    ``refreshed_at TIMESTAMP``
    Primary key (conversation_id, model_id).

``emotion_runs`` — one row per scoring run: ``model_id, started_at, finished_at, scored,
    skipped``. The latest run's ``model_id`` is the one dashboards should read.

Polarity rule (GoEmotions paper grouping): the group (positive, negative, ambiguous)
with the largest summed score wins, unless ``neutral`` is larger than that sum.
"""

from __future__ import annotations

from convolab.emotions.labels import LABELS

__all__ = ["V2_EMOTIONS", "V11_EMOTION_CONTEXTS"]

_LABEL_COLUMNS = ",\n        ".join(f"{label} FLOAT" for label in LABELS)

V2_EMOTIONS = (
    f"""
    CREATE TABLE message_emotions (
    model_id VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    {_LABEL_COLUMNS},
    emotions VARCHAR[],
    polarity VARCHAR,
    sentiment FLOAT,
    scored_at TIMESTAMP,
    PRIMARY KEY (model_id, text_hash)
    )
    """,
    """
    CREATE TABLE conversation_emotions (
    conversation_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    n_messages INTEGER,
    top_emotions VARCHAR[],
    top_scores DOUBLE[],
    polarity VARCHAR,
    sentiment DOUBLE,
    start_polarity VARCHAR,
    end_polarity VARCHAR,
    sentiment_start DOUBLE,
    sentiment_end DOUBLE,
    trend VARCHAR,
    refreshed_at TIMESTAMP,
    PRIMARY KEY (conversation_id, model_id)
    )
    """,
    """
    CREATE TABLE emotion_runs (
    model_id VARCHAR NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    scored BIGINT,
    skipped BIGINT
    )
    """,
    """
    CREATE VIEW message_emotion_scores AS
    SELECT m.conversation_id, m.seq, m.role, m.sent_at, e.*
    FROM messages AS m
    JOIN message_emotions AS e ON e.text_hash = md5(m.text)
    """,
)


# Version 11: a customer message is scored in its context (the agent turn before it), so
# the same text can score differently after "Is there anything else?" and after "Did the
# reset fix it?". Scores are keyed by (model, text, context). Which context a message was
# seen in is computed by a window over ``messages`` in the views below, not stored, so
# there is no key table to keep in step with ingest, upserts and deletes. The scores view
# carries only 32-character hashes through its window (the context's hash *is* the agent
# message's ``md5(text)``), which keeps it close to the cost of the text-only join it
# replaces (``bench/emotion_store.py``); the texts travel only in ``message_contexts``,
# which scoring reads.

_AGENT = "role IN ('agent', 'human_agent') AND trim(text) <> ''"
#: The newest earlier row's value of ``column`` among agent rows of the conversation.
_NEWEST_AGENT = """last_value({column} IGNORE NULLS) OVER (
        PARTITION BY conversation_id ORDER BY seq
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"""

V11_EMOTION_CONTEXTS = (
    f"""
    CREATE VIEW message_context_keys AS
    SELECT conversation_id, seq, role, sent_at, text_hash,
           CASE WHEN role = 'customer'
                THEN coalesce({_NEWEST_AGENT.format(column="agent_hash")}, '')
                ELSE '' END AS context_hash
    FROM (SELECT *, CASE WHEN {_AGENT} THEN text_hash END AS agent_hash
          FROM (SELECT conversation_id, seq, role, sent_at, text, md5(text) AS text_hash
                FROM messages))
    """,  # noqa: S608 - fixed SQL
    f"""
    CREATE VIEW message_contexts AS
    SELECT conversation_id, seq, role, sent_at, text, md5(text) AS text_hash, context,
           coalesce(md5(context), '') AS context_hash
    FROM (SELECT *, CASE WHEN role = 'customer'
                         THEN {_NEWEST_AGENT.format(column=f"CASE WHEN {_AGENT} THEN text END")}
                    END AS context
          FROM messages)
    """,  # noqa: S608 - fixed SQL
    f"""
    CREATE TABLE message_emotions_v8 (
    model_id VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    context_hash VARCHAR NOT NULL,
    {_LABEL_COLUMNS},
    emotions VARCHAR[],
    polarity VARCHAR,
    sentiment FLOAT,
    scored_at TIMESTAMP,
    PRIMARY KEY (model_id, text_hash, context_hash)
    )
    """,
    # Scores written before contexts existed were made without context: they hold for
    # every context their text appears in today (and for none, if it appears nowhere).
    """
    INSERT INTO message_emotions_v8 BY NAME
    SELECT e.*, coalesce(k.context_hash, '') AS context_hash
    FROM message_emotions AS e
    LEFT JOIN (SELECT DISTINCT text_hash, context_hash FROM message_context_keys) AS k
      ON k.text_hash = e.text_hash
    """,
    "DROP VIEW message_emotion_scores",
    "DROP TABLE message_emotions",
    "ALTER TABLE message_emotions_v8 RENAME TO message_emotions",
    """
    CREATE VIEW message_emotion_scores AS
    SELECT k.conversation_id, k.seq, k.role, k.sent_at, e.*
    FROM message_context_keys AS k
    JOIN message_emotions AS e ON e.text_hash = k.text_hash AND e.context_hash = k.context_hash
    """,
)
