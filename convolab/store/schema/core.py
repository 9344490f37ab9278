"""Schema version 1: the core conversation tables, loads, rejected records and the audit log.

Timestamps are stored as naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

__all__ = ["V1_CORE"]

# Child tables carry no primary keys on purpose: ingest guarantees
# (conversation_id, seq) / (conversation_id, key) uniqueness set-based, and index
# maintenance would dominate bulk loads. A load writes rows in roughly chunked load
# order (several threads), so DuckDB's min/max zone maps still keep one
# conversation's lookups cheap; readers order by seq, never by storage order.
# (Version 5 added conversation_id indexes on function_calls, tags and parameters
# for table pages; version 7 dropped them again for summary columns on
# conversations, see _V7_PAGE_SUMMARIES.)
V1_CORE = (
    """
    CREATE TABLE conversations (
        id            VARCHAR PRIMARY KEY,
        flow          VARCHAR,
        platform      VARCHAR,          -- phone | web
        contact       VARCHAR,
        contact_id    VARCHAR,
        status        VARCHAR,          -- see convolab.conversations.STATUSES
        started_at    TIMESTAMP,
        ended_at      TIMESTAMP,
        duration_s    DOUBLE,
        summary       VARCHAR,
        analysis      VARCHAR,
        recording     VARCHAR,
        message_count INTEGER,
        function_count INTEGER,
        last_message  VARCHAR,
        last_message_at TIMESTAMP,
        extra         JSON,             -- fields we do not model, kept so nothing is lost
        content_hash  VARCHAR,          -- hash of the source record; unchanged => no rewrite
        source_file   VARCHAR,
        source_line   BIGINT,
        ingested_at   TIMESTAMP
    )
    """,
    """
    CREATE TABLE messages (
        conversation_id VARCHAR NOT NULL,
        seq           INTEGER NOT NULL,  -- 0-based position in the transcript
        role          VARCHAR NOT NULL,  -- customer | agent | human_agent | supervisor | system
        text          VARCHAR,
        sent_at       TIMESTAMP
    )
    """,
    """
    CREATE TABLE function_calls (
        conversation_id VARCHAR NOT NULL,
        seq           INTEGER NOT NULL,
        name          VARCHAR NOT NULL,
        arguments     JSON,
        output        JSON,
        status        VARCHAR,           -- ok | error | no_result
        called_at     TIMESTAMP,
        call_ref      VARCHAR            -- tool_call id from OpenAI-style sources
    )
    """,
    """
    CREATE TABLE tags (
        conversation_id VARCHAR NOT NULL,
        key           VARCHAR NOT NULL,
        value         VARCHAR
    )
    """,
    """
    CREATE TABLE parameters (
        conversation_id VARCHAR NOT NULL,
        key           VARCHAR NOT NULL,
        value         VARCHAR
    )
    """,
    "CREATE SEQUENCE load_seq START 1",
    """
    CREATE TABLE loads (
        load_id       BIGINT PRIMARY KEY,
        file          VARCHAR,
        format        VARCHAR,
        loaded        BIGINT,
        unchanged     BIGINT,
        rejected      BIGINT,
        started_at    TIMESTAMP,
        finished_at   TIMESTAMP
    )
    """,
    """
    CREATE TABLE rejected_records (
        load_id       BIGINT,
        file          VARCHAR NOT NULL,
        line          BIGINT,
        conversation_id VARCHAR,
        reason        VARCHAR NOT NULL,
        record        VARCHAR,           -- the raw text (truncated), for fixing and re-loading
        rejected_at   TIMESTAMP
    )
    """,
    "CREATE SEQUENCE audit_seq START 1",
    """
    CREATE TABLE audit_log (
        id            BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
        occurred_at   TIMESTAMP NOT NULL,
        actor         VARCHAR NOT NULL,
        action        VARCHAR NOT NULL,
        target        VARCHAR,
        details       JSON,
        result        VARCHAR
    )
    """,
)
