"""Tables for call-recording analyses and the store's own settings (schema version 9).

``audio_analyses``
    One row per conversation per recording content (SHA-256 of the file). A failed
    analysis is a row too (``status = 'failed'`` with a one-line ``reason``), so a corrupt
    file is not re-read on every run; a file that could not be read at all (missing,
    outside the recordings root) has no ``content_hash`` and is tried again on the next
    run, replacing its previous failure. The newest row per conversation (by
    ``analysed_at``) is its current analysis. ``metrics`` holds the whole document of
    :func:`convolab.audio.analyse_file`; the other columns are its headline figures, for
    criteria and reports (read by name: do not rename them).
``audio_segments``
    The speech segments of each conversation's current analysis (``channel`` is
    ``customer``, ``agent``, or ``mixed`` for a mono recording).
``store_settings``
    Small key/value settings that belong to the store rather than to a machine, such as
    ``recordings_root``: the folder relative recording paths are resolved in (an
    absolute path; see :func:`convolab.audio.recordings_root`).
"""

from __future__ import annotations

__all__ = ["V9_AUDIO", "V9_AUDIO_TABLES"]

#: The audio tables (also exported as ``convolab.audio.tables.AUDIO_DDL``).
V9_AUDIO_TABLES: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS audio_analyses (
        conversation_id        VARCHAR NOT NULL,
        recording              VARCHAR NOT NULL,  -- as stored on the conversation (relative to the root)
        content_hash           VARCHAR,           -- sha256 of the file; NULL when it could not be read
        analysed_at            TIMESTAMP NOT NULL,
        status                 VARCHAR NOT NULL,  -- ok | failed
        reason                 VARCHAR,           -- one line, when failed
        duration_s             DOUBLE,
        channels               INTEGER,
        talk_customer_s        DOUBLE,
        talk_agent_s           DOUBLE,
        talk_ratio             DOUBLE,            -- the agent's share of all talk, 0-1
        dead_air_count         INTEGER,
        dead_air_total_s       DOUBLE,
        dead_air_longest_s     DOUBLE,
        latency_p50_ms         DOUBLE,
        latency_p95_ms         DOUBLE,
        latency_max_ms         DOUBLE,
        latency_n              INTEGER,
        interruptions_agent    INTEGER,
        interruptions_customer INTEGER,
        overtalk_s             DOUBLE,
        loudness_mean_dbfs     DOUBLE,
        loudness_peak_dbfs     DOUBLE,
        clipping_ratio         DOUBLE,
        metrics                JSON               -- the full document of analyse_file
    )
    """,
    "CREATE INDEX IF NOT EXISTS audio_analyses_conversation ON audio_analyses (conversation_id)",
    """
    CREATE TABLE IF NOT EXISTS audio_segments (
        conversation_id VARCHAR NOT NULL,
        channel         VARCHAR NOT NULL,  -- customer | agent | mixed (mono)
        start_s         DOUBLE NOT NULL,
        end_s           DOUBLE NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS audio_segments_conversation ON audio_segments (conversation_id)",
)

V9_AUDIO: tuple[str, ...] = (
    *V9_AUDIO_TABLES,
    """
    CREATE TABLE IF NOT EXISTS store_settings (
        key        VARCHAR PRIMARY KEY,
        value      VARCHAR,
        updated_at TIMESTAMP NOT NULL,
        updated_by VARCHAR
    )
    """,
)
