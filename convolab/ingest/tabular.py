"""CSV or Parquet, one row per message, with a column mapping.

The mapping names which source column holds each field. Required:
``conversation_id``, ``role``, ``text``; optional: ``timestamp`` and the
conversation fields (``flow``, ``platform``, ``contact``, ``contact_id``,
``status``, ``started_at``, ``ended_at``, ``summary``, ``analysis``,
``recording``), taken from the conversation's first row. Columns not given are
guessed from common names (``content``/``message`` for text, ``speaker`` for
role, ``at``/``time`` for timestamp...).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from convolab.conversations import ROLES, STATUS_ALIASES, STATUSES
from convolab.errors import InvalidRecord
from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["MAPPING_FIELDS", "resolve_mapping", "stage_tabular"]

MAPPING_FIELDS = (
    "conversation_id", "role", "text", "timestamp", "flow", "platform", "contact", "contact_id",
    "status", "started_at", "ended_at", "summary", "analysis", "recording",
)
# Common column names in real exports, most specific first; matched without regard to case.
_GUESSES = {
    "conversation_id": ("conversation_id", "conversation", "conversationid", "conv_id", "chat_id", "chat",
                        "thread_id", "thread", "session_id", "session", "ticket_id", "ticket", "case_id",
                        "call_sid", "call_id", "dialogue_id", "dialog_id", "dialogue", "dialog", "id"),
    "role": ("role", "speaker", "author_role", "speaker_role", "sender", "author", "from", "participant",
             "party", "actor", "floor", "direction", "user_type"),
    "text": ("text", "content", "message", "message_text", "utterance", "body", "msg", "transcript",
             "text_en", "sentence"),
    "timestamp": ("timestamp", "at", "time", "ts", "created_at", "createdat", "sent_at", "datetime",
                  "date", "created", "time_stamp", "posted_at", "message_time"),
}
_REQUIRED = ("conversation_id", "role", "text")
_ROLE_SQL = ", ".join(f"'{r}'" for r in (*ROLES, "user", "assistant"))
_STATUS_SQL = ", ".join(f"'{s}'" for s in (*STATUSES, *STATUS_ALIASES))


def resolve_mapping(columns: list[str], mapping: dict[str, str] | None, *, file: str) -> dict[str, str]:
    """Field -> source column, from the explicit mapping then the guesses above."""
    mapping = dict(mapping or {})
    unknown = set(mapping) - set(MAPPING_FIELDS)
    if unknown:
        raise InvalidRecord(
            f"unknown mapping field(s) {sorted(unknown)}; known: {', '.join(MAPPING_FIELDS)}", file=file
        )
    lower = {c.lower(): c for c in columns}
    for fld, column in mapping.items():
        if column not in columns:
            raise InvalidRecord(f"mapping {fld}={column}: no such column (columns: {', '.join(columns)})", file=file)
    for fld in MAPPING_FIELDS:
        if fld in mapping:
            continue
        for guess in _GUESSES.get(fld, (fld,)):
            if guess in lower and lower[guess] not in mapping.values():
                mapping[fld] = lower[guess]
                break
    missing = [f for f in _REQUIRED if f not in mapping]
    if missing:
        raise InvalidRecord(
            f"cannot tell which column holds {', '.join(missing)}; name it with"
            f" {' '.join(f'--map {f}=COLUMN' for f in missing)} (columns: {', '.join(columns)})",
            file=file,
        )
    return mapping


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def stage_tabular(store: Workbench, path: Path, fmt: str, mapping: dict[str, str] | None) -> None:
    """Read a CSV/Parquet file with DuckDB and fill ``stg_conv``, ``stg_msg``, ``stg_fn``.

    The "line" of a CSV row is its line in the file (header = line 1, assuming no
    quoted newlines); for Parquet it is the row number. A conversation's line is
    that of its first row.
    """
    if fmt == "parquet":
        source = "read_parquet(?)"
        offset = 0
    else:
        source = "read_csv(?, all_varchar = true, header = true)"
        offset = 1
    try:
        store.execute(f"CREATE OR REPLACE TEMP TABLE tab_raw AS SELECT * FROM {source}", [str(path)])  # noqa: S608
    except DatabaseError as exc:
        raise InvalidRecord(f"cannot read as {fmt}: {str(exc).splitlines()[0]}", file=str(path)) from exc
    columns = [r[0] for r in store.execute("DESCRIBE tab_raw").fetchall()]
    m = resolve_mapping(columns, mapping, file=str(path))

    def col(fld: str) -> str:
        return f"CAST({_q(m[fld])} AS VARCHAR)" if fld in m else "NULL::VARCHAR"

    def ts(fld: str) -> str:
        if fld not in m:
            return "NULL::TIMESTAMP"
        # every accepted shape (convolab.ingest.timestamps); Parquet timestamps read as ISO text
        return f"cl_parse_ts(CAST({_q(m[fld])} AS VARCHAR))"

    def ts_bad(fld: str) -> str:
        if fld not in m:
            return "FALSE"
        return f"({_q(m[fld])} IS NOT NULL AND trim(CAST({_q(m[fld])} AS VARCHAR)) <> '' AND {ts(fld)} IS NULL)"

    def ts_reason(fld: str, name: str) -> str:
        if fld not in m:
            return "NULL::VARCHAR"
        return (f"CASE WHEN {ts_bad(fld)} THEN 'bad timestamp in {name}: ' || left({col(fld)}, 60)"
                f" || cl_ts_hint({col(fld)}) END")

    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tab_rows AS
        SELECT rowid + 1 + {offset} AS line, {col('conversation_id')} AS cid,
               lower(trim(cl_role({col('role')}))) AS role,
               {col('text')} AS text, {ts('timestamp')} AS sent_at,
               CASE WHEN {ts_bad('timestamp')} THEN 'bad timestamp: ' || left({col('timestamp')}, 60)
                                                    || cl_ts_hint({col('timestamp')}) END AS ts_error,
               {col('flow')} AS flow, {col('platform')} AS platform, {col('contact')} AS contact,
               {col('contact_id')} AS contact_id, {col('status')} AS status,
               {ts('started_at')} AS started_at, {ts('ended_at')} AS ended_at,
               coalesce({ts_reason('started_at', 'started_at')}, {ts_reason('ended_at', 'ended_at')}) AS conv_ts_error,
               {col('summary')} AS summary, {col('analysis')} AS analysis, {col('recording')} AS recording
        FROM tab_raw
        """  # noqa: S608
    )
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_conv AS
        SELECT min(line) AS line,
               'rows ' || min(line) || '-' || max(line) || ' of conversation ' || coalesce(cid, '?') AS raw,
               cid AS id, first(flow ORDER BY line) AS flow, first(platform ORDER BY line) AS platform,
               first(contact ORDER BY line) AS contact, first(contact_id ORDER BY line) AS contact_id,
               cl_status(coalesce(first(status ORDER BY line), 'completed')) AS status,
               first(started_at ORDER BY line) AS started_at, first(ended_at ORDER BY line) AS ended_at,
               first(summary ORDER BY line) AS summary, first(analysis ORDER BY line) AS analysis,
               first(recording ORDER BY line) AS recording,
               NULL::STRUCT(key VARCHAR, value VARCHAR)[] AS tags,
               NULL::STRUCT(key VARCHAR, value VARCHAR)[] AS parameters,
               NULL::VARCHAR[] AS ground_truth, NULL::JSON AS messages_json, NULL::JSON AS functions_json,
               md5(string_agg(concat_ws('|', role, text, sent_at, flow, platform, contact, contact_id, status,
                                        summary, analysis, recording), chr(10) ORDER BY line)) AS content_hash,
               list_filter([
                   CASE WHEN cid IS NULL OR trim(cid) = '' THEN 'missing conversation id' END,
                   cl_record_err(sum(strlen(coalesce(text, '')))),
                   CASE WHEN first(platform ORDER BY line) NOT IN ('phone', 'web')
                        THEN 'platform must be phone or web' END,
                   CASE WHEN first(status ORDER BY line) NOT IN ({_STATUS_SQL}) THEN 'unknown status' END,
                   first(conv_ts_error ORDER BY line)
               ], lambda x: x IS NOT NULL) AS errors,
               NULL::STRUCT(key VARCHAR, value JSON)[] AS extra_entries
        FROM tab_rows GROUP BY cid
        """  # noqa: S608
    )
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_msg AS
        SELECT c.line, (row_number() OVER (PARTITION BY r.cid ORDER BY r.sent_at NULLS LAST, r.line) - 1)::INTEGER AS seq,
               CASE r.role WHEN 'user' THEN 'customer' WHEN 'assistant' THEN 'agent' ELSE r.role END AS role,
               r.text, r.sent_at,
               CASE WHEN r.role IS NULL OR r.role NOT IN ({_ROLE_SQL})
                         THEN 'line ' || r.line || ': unknown role ' || coalesce(r.role, '(empty)')
                    ELSE CASE WHEN r.ts_error IS NOT NULL THEN 'line ' || r.line || ': ' || r.ts_error END
               END AS error
        FROM tab_rows r JOIN stg_conv c ON c.id IS NOT DISTINCT FROM r.cid
        """  # noqa: S608
    )
    store.execute(
        "CREATE OR REPLACE TEMP TABLE stg_fn (line BIGINT, seq INTEGER, name VARCHAR, arguments JSON,"
        " output JSON, status VARCHAR, called_at TIMESTAMP, call_ref VARCHAR, error VARCHAR)"
    )
    store.execute("DROP TABLE IF EXISTS tab_raw")
    store.execute("DROP TABLE IF EXISTS tab_rows")
