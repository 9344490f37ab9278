"""Tables for review flags and QA decisions (schema version 3).

``flags``
    One row per flag raised on a conversation. ``source`` is ``'criteria'`` for
    flags computed by the criteria engine (replaced on each run of the same
    ``criteria_version``) or ``'manual'`` for flags added by a reviewer (kept).
    ``reason`` is the human-readable sentence; ``evidence`` the machine-readable
    detail (which message, which value against which threshold).
``flag_decisions``
    QA decisions on a flag: ``decision`` is ``'confirmed'`` or ``'dismissed'``;
    the newest decision per flag wins. Decisions are keyed by
    (conversation_id, criterion) as well as flag_id so that they survive a
    re-run of the criteria that replaces the flag rows.
``ground_truth``
    Labels known to be true for a conversation (the generator's planted
    conditions, or a labelled import): (conversation_id, criterion).
"""

from __future__ import annotations

__all__ = ["V3_FLAGS"]

V3_FLAGS = (
    "CREATE SEQUENCE flag_seq START 1",
    """
    CREATE TABLE flags (
        flag_id         BIGINT PRIMARY KEY DEFAULT nextval('flag_seq'),
        conversation_id VARCHAR NOT NULL,
        criterion       VARCHAR NOT NULL,
        severity        VARCHAR NOT NULL,   -- low | medium | high
        reason          VARCHAR NOT NULL,
        evidence        JSON,
        criteria_version VARCHAR,
        source          VARCHAR NOT NULL,   -- criteria | manual
        created_by      VARCHAR,
        created_at      TIMESTAMP NOT NULL
    )
    """,
    "CREATE INDEX flags_conversation ON flags (conversation_id)",
    """
    CREATE TABLE flag_decisions (
        flag_id         BIGINT,
        conversation_id VARCHAR NOT NULL,
        criterion       VARCHAR NOT NULL,
        decision        VARCHAR NOT NULL,   -- confirmed | dismissed
        reviewer        VARCHAR NOT NULL,
        note            VARCHAR,
        decided_at      TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE ground_truth (
        conversation_id VARCHAR NOT NULL,
        criterion       VARCHAR NOT NULL,
        source          VARCHAR,
        PRIMARY KEY (conversation_id, criterion)
    )
    """,
)
