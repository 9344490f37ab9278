"""Tables for live calls (schema version 4).

``live_calls`` keeps the last known state of every call the monitor saw and
``coaching_notes`` the notes sent to AI agents (agent side only; they are never
written to ``messages``). Actions themselves go to the shared ``audit_log``.
"""

from __future__ import annotations

__all__ = ["V4_LIVE"]

V4_LIVE = (
    """
    CREATE TABLE live_calls (
        id              VARCHAR PRIMARY KEY,
        backend         VARCHAR NOT NULL,
        contact         VARCHAR,
        platform        VARCHAR,
        status          VARCHAR NOT NULL,
        handler         VARCHAR,
        started_at      TIMESTAMP,
        ended_at        TIMESTAMP,
        transferred_to  VARCHAR,
        queue           VARCHAR,
        ended_by        VARCHAR
    )
    """,
    "CREATE SEQUENCE coaching_seq START 1",
    """
    CREATE TABLE coaching_notes (
        id          BIGINT PRIMARY KEY DEFAULT nextval('coaching_seq'),
        call_id     VARCHAR NOT NULL,
        created_at  TIMESTAMP NOT NULL,
        actor       VARCHAR NOT NULL,
        text        VARCHAR NOT NULL
    )
    """,
)
