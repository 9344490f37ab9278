"""The set-based middle of every load: staging tables, validation, upsert, quarantine.

Each format module fills three temporary tables, one row per source record,
message and function call, each carrying an ``error`` (NULL when fine):

``stg_conv``  line, raw, id, flow, platform, contact, contact_id, status,
              started_at, ended_at, summary, analysis, recording, tags,
              parameters, ground_truth, extra, content_hash, errors (VARCHAR[])
``stg_msg``   line, seq, role, text, sent_at, error
``stg_fn``    line, seq, name, arguments, output, status, called_at, call_ref, error

:func:`finish_load` then decides per record (first problem wins), quarantines
the bad ones with file, line and reason, and upserts the good ones by id in one
transaction. Records whose content hash is unchanged are left alone, so loading
the same file twice is cheap and leaves one copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from convolab.conversations import ROLES, STATUS_ALIASES, STATUSES

_STATUS_LIST = ", ".join(f"'{s}'" for s in (*STATUSES, *STATUS_ALIASES))
_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)
_ALIAS_CASE = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STATUS_ALIASES.items())

# Macros over JSON scalars, shared by the JSON formats. The constant lists above
# come from our own code, never from input.
MACROS = (
    "CREATE OR REPLACE TEMP MACRO cl_str(v) AS CASE WHEN json_type(v) = 'VARCHAR' THEN v->>'$' END",
    """CREATE OR REPLACE TEMP MACRO cl_str_err(v, name) AS
       CASE WHEN v IS NOT NULL AND json_type(v) NOT IN ('VARCHAR', 'NULL')
            THEN name || ' must be a string, got ' || cl_jtype((v)) END""",
    # Epoch seconds or ISO-8601 (with offset, Z, or none = UTC); stored as naive UTC.
    """CREATE OR REPLACE TEMP MACRO cl_ts(v) AS CASE
         WHEN v IS NULL THEN NULL
         WHEN json_type(v) IN ('UBIGINT', 'BIGINT', 'DOUBLE')
              AND try_cast(v AS DOUBLE) BETWEEN 0 AND 32503680000
              THEN to_timestamp(try_cast(v AS DOUBLE)) AT TIME ZONE 'UTC'
         WHEN json_type(v) = 'VARCHAR' THEN try_cast(v->>'$' AS TIMESTAMPTZ) AT TIME ZONE 'UTC'
       END""",
    """CREATE OR REPLACE TEMP MACRO cl_ts_err(v, name) AS
       CASE WHEN v IS NOT NULL AND json_type(v) <> 'NULL' AND cl_ts(v) IS NULL
            THEN 'bad timestamp in ' || name || ': ' || left(v::VARCHAR, 60) END""",
    # A JSON object -> list of {key, value} with string values unquoted.
    """CREATE OR REPLACE TEMP MACRO cl_kv(v) AS list_transform(
         map_entries(json_transform(v, '"MAP(VARCHAR, JSON)"')),
         lambda e: struct_pack(key := e.key, value := CASE WHEN json_type(e.value) = 'VARCHAR'
                                                  THEN e.value->>'$' ELSE e.value::VARCHAR END))""",
    """CREATE OR REPLACE TEMP MACRO cl_jtype(v) AS CASE json_type(v)
         WHEN 'UBIGINT' THEN 'number' WHEN 'BIGINT' THEN 'number' WHEN 'DOUBLE' THEN 'number'
         WHEN 'VARCHAR' THEN 'string' WHEN 'ARRAY' THEN 'list' WHEN 'OBJECT' THEN 'object'
         ELSE lower(json_type(v)) END""",
    f"""CREATE OR REPLACE TEMP MACRO cl_status(s) AS CASE s {_ALIAS_CASE} ELSE s END""",
)

#: Top-level fields of a conversation record (both JSON formats).
CONVERSATION_SPEC = (
    '{"id":"JSON","flow":"JSON","platform":"JSON","contact":"JSON","contact_id":"JSON",'
    '"status":"JSON","started_at":"JSON","ended_at":"JSON","summary":"JSON","analysis":"JSON",'
    '"recording":"JSON","tags":"JSON","parameters":"JSON","messages":"JSON","functions":"JSON",'
    '"ground_truth":"JSON"}'
)
KNOWN_FIELDS = (
    "id", "flow", "platform", "contact", "contact_id", "status", "started_at", "ended_at",
    "summary", "analysis", "recording", "tags", "parameters", "messages", "functions", "ground_truth",
)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary SQL macros the format modules use."""
    for statement in MACROS:
        con.execute(statement)


def stage_json_records(con: duckdb.DuckDBPyConnection) -> None:
    """``stg_raw(line, raw BLOB)`` -> ``stg_conv`` (decoded and parsed once).

    Shared by the canonical and OpenAI-style formats: their top-level fields are
    the same; only ``messages`` (and ``functions``) differ.
    """
    known = ", ".join(f"'{k}'" for k in KNOWN_FIELDS)
    # Parsed once into a table: referencing ``r`` many times from a subquery would
    # make DuckDB re-run the parse per reference.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_rec AS
        SELECT line, raw, r,
               CASE WHEN r IS NOT NULL THEN list_filter(json_keys(raw), lambda k: k NOT IN ({known})) END AS unknown_keys
        FROM (SELECT line, txt AS raw,
                     CASE WHEN ltrim(txt) LIKE '{{%' THEN try(json_transform(txt, '{CONVERSATION_SPEC}')) END AS r
              FROM (SELECT line, try(decode(raw)) AS txt FROM stg_raw)
              WHERE txt IS NULL OR trim(txt) <> '')
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_conv AS
        SELECT line, raw,
               cl_str(r.id) AS id, cl_str(r.flow) AS flow, cl_str(r.platform) AS platform,
               cl_str(r.contact) AS contact, cl_str(r.contact_id) AS contact_id,
               cl_status(cl_str(r.status)) AS status,
               cl_ts(r.started_at) AS started_at, cl_ts(r.ended_at) AS ended_at,
               cl_str(r.summary) AS summary, cl_str(r.analysis) AS analysis,
               cl_str(r.recording) AS recording,
               CASE WHEN json_type(r.tags) = 'OBJECT' THEN cl_kv(r.tags) END AS tags,
               CASE WHEN json_type(r.parameters) = 'OBJECT' THEN cl_kv(r.parameters) END AS parameters,
               CASE WHEN json_type(r.ground_truth) = 'ARRAY'
                    THEN try(json_transform(r.ground_truth, '["VARCHAR"]')) END AS ground_truth,
               r.messages AS messages_json, r.functions AS functions_json,
               md5(raw) AS content_hash,
               CASE
                 WHEN raw IS NULL THEN ['line is not valid UTF-8']
                 WHEN r IS NULL AND json_valid(raw) THEN ['record is not a JSON object']
                 WHEN r IS NULL THEN ['invalid JSON']
                 ELSE list_filter([
                   CASE WHEN r.id IS NULL THEN 'missing id'
                        WHEN json_type(r.id) <> 'VARCHAR'
                             THEN 'id must be a string, got ' || cl_jtype((r.id))
                        WHEN trim(r.id->>'$') = '' THEN 'id is empty' END,
                   cl_str_err(r.flow, 'flow'), cl_str_err(r.platform, 'platform'),
                   CASE WHEN cl_str(r.platform) NOT IN ('phone', 'web')
                        THEN 'platform must be phone or web, got ' || left(cl_str(r.platform), 40) END,
                   cl_str_err(r.contact, 'contact'), cl_str_err(r.contact_id, 'contact_id'),
                   cl_str_err(r.status, 'status'),
                   CASE WHEN cl_str(r.status) NOT IN ({_STATUS_LIST})
                        THEN 'unknown status ' || left(cl_str(r.status), 40) END,
                   cl_ts_err(r.started_at, 'started_at'), cl_ts_err(r.ended_at, 'ended_at'),
                   CASE WHEN cl_ts(r.ended_at) < cl_ts(r.started_at)
                        THEN 'ended_at is before started_at' END,
                   cl_str_err(r.summary, 'summary'), cl_str_err(r.analysis, 'analysis'),
                   cl_str_err(r.recording, 'recording'),
                   CASE WHEN r.messages IS NULL THEN 'missing messages'
                        WHEN json_type(r.messages) <> 'ARRAY'
                             THEN 'messages must be a list, got ' || cl_jtype((r.messages)) END,
                   CASE WHEN r.functions IS NOT NULL AND json_type(r.functions) <> 'ARRAY'
                        THEN 'functions must be a list, got ' || cl_jtype((r.functions)) END,
                   CASE WHEN r.tags IS NOT NULL AND json_type(r.tags) <> 'OBJECT'
                        THEN 'tags must be an object, got ' || cl_jtype((r.tags)) END,
                   CASE WHEN r.parameters IS NOT NULL AND json_type(r.parameters) <> 'OBJECT'
                        THEN 'parameters must be an object, got ' || cl_jtype((r.parameters)) END,
                   CASE WHEN r.ground_truth IS NOT NULL AND json_type(r.ground_truth) <> 'ARRAY'
                        THEN 'ground_truth must be a list of criterion names' END
                 ], lambda x: x IS NOT NULL)
               END AS errors,
               -- Unknown top-level fields are kept (as JSON) so a load loses nothing.
               -- only records with unknown keys pay for a second, value-copying parse
               CASE WHEN len(unknown_keys) > 0
                    THEN list_filter(map_entries(json_transform(raw, '"MAP(VARCHAR, JSON)"')),
                                     lambda e: e.key NOT IN ({known})) END AS extra_entries
        FROM stg_rec
        """
    )


@dataclass
class FileReport:
    """What happened to one source file."""

    file: str
    format: str
    loaded: int = 0
    unchanged: int = 0
    rejected: int = 0
    reasons: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.loaded + self.unchanged + self.rejected


def finish_load(con: duckdb.DuckDBPyConnection, *, file: str, fmt: str) -> FileReport:
    """Validate the staged records, quarantine the bad ones and upsert the good ones."""
    load_id = con.execute("SELECT nextval('load_seq')").fetchone()[0]
    con.execute("CREATE OR REPLACE TEMP TABLE load_started AS SELECT now()::TIMESTAMP AS started")
    # First problem per record: its own fields, then its messages, then its functions.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_verdict AS
        WITH msg_err AS (SELECT line, arg_min(error, seq) AS e FROM stg_msg WHERE error IS NOT NULL GROUP BY line),
             fn_err AS (SELECT line, arg_min(error, seq) AS e FROM stg_fn WHERE error IS NOT NULL GROUP BY line),
             first_pass AS (
               SELECT c.line, c.id, coalesce(c.errors[1], m.e, f.e,
                      CASE WHEN list_filter(coalesce(c.ground_truth, []), lambda g: g IS NULL) <> []
                           THEN 'ground_truth must be a list of strings' END) AS reason
               FROM stg_conv c LEFT JOIN msg_err m USING (line) LEFT JOIN fn_err f USING (line))
        SELECT line, id,
               coalesce(reason, CASE WHEN row_number() OVER w > 1
                   THEN 'duplicate id ' || id || ' in this file (first seen on line '
                        || first_value(line) OVER w || ')' END) AS reason
        FROM first_pass
        WINDOW w AS (PARTITION BY id, reason IS NULL ORDER BY line)
        """
    )
    con.execute(
        """
        INSERT INTO rejected_records
        SELECT ?, ?, v.line, v.id, v.reason, left(c.raw, 4000), now()::TIMESTAMP
        FROM stg_verdict v JOIN stg_conv c USING (line)
        WHERE v.reason IS NOT NULL
        """,
        [load_id, file],
    )
    # New or changed conversations; identical ones (same content hash) are left alone.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE stg_load AS
        SELECT s.line, s.id FROM stg_verdict v JOIN stg_conv s USING (line)
        LEFT JOIN conversations c ON c.id = s.id
        WHERE v.reason IS NULL AND (c.id IS NULL OR c.content_hash IS DISTINCT FROM s.content_hash)
        """
    )
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("messages", "function_calls", "tags", "parameters", "ground_truth"):
            con.execute(f"DELETE FROM {table} WHERE conversation_id IN (SELECT id FROM stg_load)")
        con.execute("DELETE FROM conversations WHERE id IN (SELECT id FROM stg_load)")
        con.execute(
            """
            INSERT INTO conversations BY NAME
            WITH msg AS (
                SELECT m.line, count(*) AS n, min(sent_at) AS first_at, max(sent_at) AS last_at,
                       arg_max(text, seq) AS last_text, arg_max(sent_at, seq) AS last_msg_at
                FROM stg_msg m SEMI JOIN stg_load l ON l.line = m.line GROUP BY m.line),
            fn AS (SELECT f.line, count(*) AS n FROM stg_fn f SEMI JOIN stg_load l ON l.line = f.line
                   GROUP BY f.line)
            SELECT c.id, c.flow, c.platform, c.contact, c.contact_id, c.status,
                   coalesce(c.started_at, msg.first_at) AS started_at,
                   coalesce(c.ended_at, msg.last_at) AS ended_at,
                   date_diff('millisecond', coalesce(c.started_at, msg.first_at),
                             coalesce(c.ended_at, msg.last_at)) / 1000.0 AS duration_s,
                   c.summary, c.analysis, c.recording,
                   coalesce(msg.n, 0) AS message_count, coalesce(fn.n, 0) AS function_count,
                   msg.last_text AS last_message, msg.last_msg_at AS last_message_at,
                   CASE WHEN c.extra_entries IS NOT NULL THEN to_json(map_from_entries(c.extra_entries)) END AS extra,
                   c.content_hash, ? AS source_file, c.line AS source_line,
                   now()::TIMESTAMP AS ingested_at
            FROM stg_conv c SEMI JOIN stg_load l ON l.line = c.line
            LEFT JOIN msg ON msg.line = c.line LEFT JOIN fn ON fn.line = c.line
            """,
            [file],
        )
        con.execute(
            """
            INSERT INTO messages
            SELECT l.id, m.seq, m.role, m.text, m.sent_at FROM stg_msg m JOIN stg_load l USING (line)
            """
        )
        con.execute(
            """
            INSERT INTO function_calls
            SELECT l.id, f.seq, f.name, f.arguments, f.output, f.status, f.called_at, f.call_ref
            FROM stg_fn f JOIN stg_load l USING (line)
            """
        )
        for table, column in (("tags", "tags"), ("parameters", "parameters")):
            con.execute(
                f"""
                INSERT INTO {table}
                SELECT id, kv.key, any_value(kv.value) FROM (
                    SELECT l.id, unnest(c.{column}) AS kv
                    FROM stg_conv c JOIN stg_load l USING (line) WHERE c.{column} IS NOT NULL)
                GROUP BY id, kv.key
                """
            )
        con.execute(
            """
            INSERT INTO ground_truth
            SELECT DISTINCT id, g, 'source' FROM (
                SELECT l.id, unnest(c.ground_truth) AS g
                FROM stg_conv c JOIN stg_load l USING (line) WHERE c.ground_truth IS NOT NULL)
            """
        )
        counts = con.execute(
            """
            SELECT (SELECT count(*) FROM stg_load),
                   (SELECT count(*) FROM stg_verdict WHERE reason IS NULL),
                   (SELECT count(*) FROM stg_verdict WHERE reason IS NOT NULL)
            """
        ).fetchone()
        loaded, valid, rejected = (int(x) for x in counts)
        con.execute(
            "INSERT INTO loads SELECT ?, ?, ?, ?, ?, ?, (SELECT started FROM load_started), now()::TIMESTAMP",
            [load_id, file, fmt, loaded, valid - loaded, rejected],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    reasons = con.execute(
        "SELECT line, reason FROM stg_verdict WHERE reason IS NOT NULL ORDER BY line LIMIT 20"
    ).fetchall()
    for table in ("stg_raw", "stg_rec", "stg_conv", "stg_msg", "stg_fn", "stg_verdict", "stg_load"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return FileReport(file, fmt, loaded, valid - loaded, rejected, [(int(a), b) for a, b in reasons])


ROLES_SQL = _ROLE_LIST
