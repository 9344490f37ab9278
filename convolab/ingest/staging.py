"""The set-based middle of every load: staging, validation, upsert, quarantine.

Every format ends in one nested staging table, one row per source record
(:data:`READY_COLUMNS`): the conversation's fields, its ``messages``,
``functions``, ``tags``, ``parameters`` and ``ground_truth`` as lists, its
content hash, and ``error``, the first problem found (NULL when fine).

There are two ways to get there:

* the exact path (:func:`stage_json_records`, then a format module's
  ``stage_messages_and_functions``, then :func:`nest_exact`) keeps every JSON
  value as JSON until its type has been checked, so each bad record gets a
  precise reason. Flat tables: ``stg_conv`` (one row per record, ``errors``
  list), ``stg_msg`` and ``stg_fn`` (one row per message / function call,
  ``error`` each). CSV/Parquet fill the same flat tables.
* the canonical JSON-lines fast path (:mod:`convolab.ingest.jsonl`) parses each
  line once into typed values and sends only the records it cannot vouch for
  through the exact path.

:func:`finish_load` then rejects duplicate ids, quarantines the bad records
with file, line and reason, and upserts the good ones by id in one
transaction. Records whose content hash is unchanged are left alone, so loading
the same file twice is cheap and leaves one copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convolab.conversations import ROLES, STATUS_ALIASES, STATUSES
from convolab.ingest import roles, timestamps, validate
from convolab.ingest.validate import Limits

# SQL here is built from our own constants and staging-table names, never from
# input (values travel as parameters); hence the S608 waivers.

if TYPE_CHECKING:
    from convolab.store import Workbench


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
    # Any accepted time shape (convolab.ingest.timestamps) -> naive UTC: JSON numbers are
    # epoch values, strings ISO-8601, --time-format, epoch digits, RFC 2822 or Twitter's.
    """CREATE OR REPLACE TEMP MACRO cl_ts(v) AS CASE
         WHEN v IS NULL THEN NULL
         WHEN json_type(v) IN ('UBIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT') THEN cl_epoch(try_cast(v AS DOUBLE))
         WHEN json_type(v) = 'VARCHAR' THEN cl_parse_ts(v->>'$')
       END""",
    """CREATE OR REPLACE TEMP MACRO cl_ts_err(v, name) AS
       CASE WHEN v IS NOT NULL AND json_type(v) <> 'NULL' AND cl_ts(v) IS NULL
            THEN 'bad timestamp in ' || name || ': ' || left(v::VARCHAR, 60)
                 || CASE WHEN json_type(v) = 'VARCHAR' THEN cl_ts_hint(v->>'$') ELSE '' END END""",
    # A JSON object -> list of {key, value} with string values unquoted. A repeated
    # key keeps its last value, as most JSON readers do.
    """CREATE OR REPLACE TEMP MACRO cl_kv_all(v) AS list_transform(
         map_entries(json_transform(v, '"MAP(VARCHAR, JSON)"')),
         lambda e: struct_pack(key := e.key, value := CASE WHEN json_type(e.value) = 'VARCHAR'
                                                  THEN e.value->>'$' ELSE e.value::VARCHAR END))""",
    """CREATE OR REPLACE TEMP MACRO cl_kv(v) AS list_filter(cl_kv_all(v),
         lambda e, i: NOT list_contains(list_transform(cl_kv_all(v)[i + 1:], lambda x: x.key), e.key))""",
    """CREATE OR REPLACE TEMP MACRO cl_jtype(v) AS CASE json_type(v)
         WHEN 'UBIGINT' THEN 'number' WHEN 'BIGINT' THEN 'number' WHEN 'DOUBLE' THEN 'number'
         WHEN 'VARCHAR' THEN 'string' WHEN 'ARRAY' THEN 'list' WHEN 'OBJECT' THEN 'object'
         ELSE lower(json_type(v)) END""",
    f"""CREATE OR REPLACE TEMP MACRO cl_status(s) AS CASE s {_ALIAS_CASE} ELSE s END""",
    # A JSON record's content hash: DuckDB's 64-bit hash of the line, in hex. Five
    # times cheaper than md5 over the whole file, and ample to tell whether a
    # conversation changed since its last load (a different DuckDB hash function
    # would only make the next load of unchanged data rewrite it once).
    "CREATE OR REPLACE TEMP MACRO cl_hash(s) AS format('{:016x}', hash(s))",
    # Empty or whitespace-only lines are skipped (but still counted for line numbers).
    # (CASE, not AND: DuckDB would trim every line.)
    """CREATE OR REPLACE TEMP MACRO cl_blank(s) AS s IS NULL
       OR CASE WHEN ascii(s) IN (9, 13, 32) THEN trim(s, ' ' || chr(9) || chr(13)) = '' ELSE false END""",
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


def install_macros(store: Workbench, *, limits: Limits | None = None, role_map: Mapping[str, str] | None = None,
                   time_format: str | None = None) -> None:
    """Create the temporary SQL macros the format modules use, for one load's options."""
    statements = (*timestamps.macros(time_format), *validate.macros(limits or Limits.from_settings()),
                  roles.macro(role_map or {}), *MACROS)
    for statement in statements:
        store.execute(statement)


def exact_source_all(store: Workbench) -> None:
    """``stg_exact_src``: every non-blank line of ``stg_lines``, for the exact path."""
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE stg_exact_src AS
        SELECT rowid + 1 AS line, raw, bad_utf8 FROM stg_lines WHERE bad_utf8 OR NOT cl_blank(raw)
        """
    )


def stage_json_records(store: Workbench, source: str = "stg_exact_src") -> None:
    """``source(line, raw VARCHAR, bad_utf8 BOOLEAN)`` -> ``stg_conv`` (the exact path).

    Shared by the canonical and OpenAI-style formats: their top-level fields are
    the same; only ``messages`` (and ``functions``) differ. ``source`` holds the
    non-blank lines to check; ``raw`` is NULL where ``bad_utf8``.
    """
    known = ", ".join(f"'{k}'" for k in KNOWN_FIELDS)
    # Parsed once into a table: referencing ``r`` many times from a subquery would
    # make DuckDB re-run the parse per reference.
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_rec AS
        SELECT line, raw, r,
               CASE WHEN r IS NOT NULL THEN list_filter(json_keys(raw), lambda k: k NOT IN ({known})) END AS unknown_keys
        FROM (SELECT line, raw,
                     -- a record over the size limit is refused unread (cl_record_err says why)
                     CASE WHEN cl_record_ok(strlen(raw)) AND ltrim(raw) LIKE '{{%'
                          THEN try(json_transform(raw, '{CONVERSATION_SPEC}')) END AS r
              FROM {source})
        """  # noqa: S608
    )
    store.execute(
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
               cl_hash(raw) AS content_hash,
               CASE
                 WHEN raw IS NULL THEN ['line is not valid UTF-8']
                 WHEN NOT cl_record_ok(strlen(raw)) THEN [cl_record_err(strlen(raw))]
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
                   -- (a time out of range is reported as such by the value checks instead)
                   CASE WHEN cl_ts(r.ended_at) < cl_ts(r.started_at)
                             AND cl_in_range(cl_ts(r.ended_at)) AND cl_in_range(cl_ts(r.started_at))
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
        """  # noqa: S608
    )
    store.execute("DROP TABLE IF EXISTS stg_rec")



#: The nested staging table every path ends in (see the module docstring).
READY_COLUMNS = (
    "line BIGINT, raw VARCHAR, id VARCHAR, flow VARCHAR, platform VARCHAR, contact VARCHAR,"
    " contact_id VARCHAR, status VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP, summary VARCHAR,"
    " analysis VARCHAR, recording VARCHAR, tags STRUCT(key VARCHAR, value VARCHAR)[],"
    " parameters STRUCT(key VARCHAR, value VARCHAR)[], ground_truth VARCHAR[],"
    " messages STRUCT(role VARCHAR, text VARCHAR, sent_at TIMESTAMP)[],"
    " functions STRUCT(name VARCHAR, arguments JSON, output JSON, status VARCHAR, called_at TIMESTAMP,"
    " call_ref VARCHAR)[], extra JSON, content_hash VARCHAR, error VARCHAR,"
    " message_count INTEGER, function_count INTEGER, first_at TIMESTAMP, last_at TIMESTAMP,"
    " last_message VARCHAR, last_message_at TIMESTAMP, function_names JSON,"
    " tag_entries JSON, parameter_entries JSON, problem VARCHAR, json_bound BIGINT"
)
READY_NAMES = (
    "line", "raw", "id", "flow", "platform", "contact", "contact_id", "status", "started_at", "ended_at",
    "summary", "analysis", "recording", "tags", "parameters", "ground_truth", "messages", "functions",
    "extra", "content_hash", "error", "message_count", "function_count", "first_at", "last_at",
    "last_message", "last_message_at", "function_names", "tag_entries", "parameter_entries", "problem", "json_bound",
)


def with_figures(select: str) -> str:
    """``select`` (with ``messages`` and ``functions`` lists) plus the figures of :data:`READY_COLUMNS`.

    The conversation-level figures are computed while staging, where the work
    runs in parallel (writing the store reads the staging table on one thread).
    Like ``arg_max(text, seq)``, the last message's text and time skip NULLs.
    The page summaries (schema v7) are what a conversations-table row shows of
    its children: function names in call order, tags and parameters sorted by key.
    ``problem`` is the first value the record may not hold (an id, a limit, a time
    out of range: :mod:`convolab.ingest.validate`), and ``json_bound`` an upper bound
    on how deeply its JSON values nest, so only the few that might be too deep are
    measured.
    """
    return f"""
        SELECT * EXCLUDE (_max_text),
               CASE WHEN error IS NULL THEN cl_value_err(id, started_at, ended_at, messages, functions,
                                                         message_count, _max_text, first_at, last_at) END AS problem
        FROM (
        SELECT * EXCLUDE (_ts),
               coalesce(len(messages), 0)::INTEGER AS message_count,
               coalesce(len(functions), 0)::INTEGER AS function_count,
               list_min(_ts) AS first_at, list_max(_ts) AS last_at,
               list_filter(list_transform(messages, lambda m: m.text), lambda t: t IS NOT NULL)[-1] AS last_message,
               list_filter(_ts, lambda t: t IS NOT NULL)[-1] AS last_message_at,
               to_json(coalesce(list_transform(functions, lambda f: f.name), [])) AS function_names,
               CASE WHEN len(tags) > 0 THEN to_json(list_sort(tags)) END AS tag_entries,
               CASE WHEN len(parameters) > 0 THEN to_json(list_sort(parameters)) END AS parameter_entries,
               list_max(list_transform(messages, lambda m: strlen(m.text))) AS _max_text,
               greatest(coalesce(list_max(list_transform(functions, lambda f: greatest(
                            cl_depth_bound(f.arguments::VARCHAR), cl_depth_bound(f.output::VARCHAR)))), 0),
                        cl_depth_bound(extra::VARCHAR))::BIGINT AS json_bound
        FROM (SELECT *, list_transform(messages, lambda m: m.sent_at) AS _ts FROM ({select})))"""  # noqa: S608


def nest_exact(store: Workbench, target: str) -> None:
    """Flat ``stg_conv``/``stg_msg``/``stg_fn`` -> nested ``target`` (first problem per record).

    A record's first problem: its own fields, then its messages, then its
    functions (by position), then its ground truth.
    """
    nested = """
        WITH m AS (
            SELECT line, list({'role': role, 'text': text, 'sent_at': sent_at} ORDER BY seq) AS messages,
                   arg_min(error, seq) FILTER (WHERE error IS NOT NULL) AS e
            FROM stg_msg GROUP BY line),
        f AS (
            SELECT line, list({'name': name, 'arguments': arguments, 'output': output, 'status': status,
                                'called_at': called_at, 'call_ref': call_ref} ORDER BY seq) AS functions,
                   arg_min(error, seq) FILTER (WHERE error IS NOT NULL) AS e
            FROM stg_fn GROUP BY line)
        SELECT c.line, c.raw, c.id, c.flow, c.platform, c.contact, c.contact_id, c.status,
               c.started_at, c.ended_at, c.summary, c.analysis, c.recording,
               c.tags, c.parameters, c.ground_truth, m.messages, f.functions,
               CASE WHEN c.extra_entries IS NOT NULL THEN to_json(map_from_entries(c.extra_entries)) END AS extra,
               c.content_hash,
               coalesce(c.errors[1], m.e, f.e,
                        CASE WHEN list_filter(coalesce(c.ground_truth, []), lambda g: g IS NULL) <> []
                             THEN 'ground_truth must be a list of strings' END) AS error
        FROM stg_conv c LEFT JOIN m USING (line) LEFT JOIN f USING (line)
        """  # noqa: S608
    store.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS {with_figures(nested)}")
    for table in ("stg_conv", "stg_msg", "stg_fn"):
        store.execute(f"DROP TABLE IF EXISTS {table}")


#: The ids accepted so far in one ingest call, with where they came from (see finish_load).
RUN_COLUMNS = "id VARCHAR, file VARCHAR, line BIGINT, content_hash VARCHAR"


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


def finish_load(store: Workbench, *, file: str, fmt: str, staged: str,
                lines: Callable[[], None] | None = None, limits: Limits | None = None,
                remember: bool = False) -> FileReport:
    """Quarantine the bad records in ``staged`` and upsert the good ones.

    ``staged`` has :data:`READY_COLUMNS`. A rejected record whose ``raw`` is NULL
    (the fast path keeps only suspects' text) is quoted from ``stg_lines`` (by its
    line), which ``lines()`` creates when needed. A record is rejected for its own
    first problem (its shape, then its values, then nesting), else as a repeat of an
    id seen earlier in the file, else as an id an earlier file of this ingest call
    loaded with other content (``stg_run``, which ``remember`` adds this file's
    accepted ids to).
    """
    started = store.execute("SELECT now()::TIMESTAMP").fetchone()[0]
    deep = validate.find_deep_values(store, staged, limits or Limits.from_settings())
    store.execute(f"CREATE TEMP TABLE IF NOT EXISTS stg_run ({RUN_COLUMNS})")  # ingest() makes it per call
    earlier = store.execute("SELECT count(*) FROM stg_run").fetchone()[0] > 0
    # A record's own first problem, else: a later record with an id already seen (in
    # this file, then in an earlier file of the same call). The joins only when needed.
    deep_reason, deep_join = (", d.reason", "LEFT JOIN stg_deep d USING (line)") if deep else ("", "")
    run_reason, run_join = "", ""
    if earlier:
        run_reason = """, CASE WHEN r.id IS NOT NULL AND r.content_hash IS DISTINCT FROM s.content_hash
                          THEN 'duplicate id ' || s.id || ': already loaded from ' || r.file || ':' || r.line
                               || ' in this run' END"""
        run_join = "LEFT JOIN stg_run r ON r.id = s.id"
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_verdict AS
        WITH s AS (
            SELECT line, id, content_hash, coalesce(error, problem{deep_reason}) AS own
            FROM {staged} {deep_join})
        SELECT s.line, s.id, s.content_hash,
               coalesce(own, CASE WHEN row_number() OVER w > 1
                   THEN 'duplicate id ' || s.id || ' in this file (first seen on line '
                        || first_value(s.line) OVER w || ')' END {run_reason}) AS reason
        FROM s {run_join}
        WINDOW w AS (PARTITION BY s.id, own IS NULL ORDER BY s.line)
        """  # noqa: S608
    )
    if remember:
        store.execute("INSERT INTO stg_run SELECT id, ?, line, content_hash FROM stg_verdict WHERE reason IS NULL",
                      [file])
    rejected = store.execute("SELECT count(*) FROM stg_verdict WHERE reason IS NOT NULL").fetchone()[0]
    total = store.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]  # noqa: S608
    # Rejected records are quoted; the fast path kept no text for good-looking ones
    # (a duplicate id), so those lines are read again. Before the transaction:
    # rows a transaction adds have provisional rowids until it commits.
    quoted, join = "c.raw", ""
    if rejected and lines is not None:
        unquoted = store.execute(
            f"SELECT count(*) FROM stg_verdict v JOIN {staged} c USING (line)"  # noqa: S608
            " WHERE v.reason IS NOT NULL AND c.raw IS NULL"
        ).fetchone()[0]
        if unquoted:
            lines()
            quoted = "coalesce(c.raw, sl.raw)"
            join = "LEFT JOIN stg_lines sl ON sl.rowid = v.line - 1"

    def commit() -> int:
        with store.transaction():
            # Drawn inside the writing transaction: DuckDB 1.5.5 does not log a sequence
            # step taken in a read-only statement, so after a kill -9 it would hand the
            # same id out again.
            load_id = store.execute(f"SELECT {store.new_id_sql('loads')}").fetchone()[0]
            # Two loads of the same new ids at once on a team store: the later commit runs again.
            store.claim("conversations")
            # New or changed conversations; identical ones (same content hash) are left alone.
            # Inside the transaction, so it compares with the snapshot the writes commit on.
            store.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE stg_load AS
                SELECT s.line, s.id FROM {staged} s
                SEMI JOIN stg_verdict v ON v.line = s.line AND v.reason IS NULL
                LEFT JOIN conversations c ON c.id = s.id
                WHERE c.id IS NULL OR c.content_hash IS DISTINCT FROM s.content_hash
                """  # noqa: S608
            )
            loaded = store.execute("SELECT count(*) FROM stg_load").fetchone()[0]
            # (the join is skipped when every staged record is loaded: a fresh load)
            rows = f"{staged} c" if loaded == total else f"{staged} c SEMI JOIN stg_load l ON l.line = c.line"
            if rejected:
                store.execute(
                    f"""
                    INSERT INTO rejected_records
                    SELECT ?, ?, v.line, v.id, v.reason, left({quoted}, 4000), now()::TIMESTAMP
                    FROM stg_verdict v JOIN {staged} c USING (line) {join}
                    WHERE v.reason IS NOT NULL
                    """,  # noqa: S608
                    [load_id, file],
                )
            if loaded:
                _replace(store, file, staged, rows)
            store.execute(
                "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [load_id, file, fmt, loaded, total - rejected - loaded, rejected, started],
            )
        return loaded

    # The inserts need not keep the staging order (that is for line numbers), and
    # without it DuckDB writes the child tables from several threads.
    order = store.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    store.execute("SET preserve_insertion_order = false")
    try:
        loaded = store.retrying(commit)
    finally:
        store.execute(f"SET preserve_insertion_order = {bool(order)}")
    reasons = store.execute(
        "SELECT line, reason FROM stg_verdict WHERE reason IS NOT NULL ORDER BY line LIMIT 20"
    ).fetchall()
    for table in ("stg_verdict", "stg_load", "stg_deep"):
        store.execute(f"DROP TABLE IF EXISTS {table}")
    return FileReport(file, fmt, loaded, total - rejected - loaded, rejected, [(int(a), b) for a, b in reasons])


def _replace(store: Workbench, file: str, staged: str, rows: str) -> None:
    """Delete the old copies of the conversations in ``stg_load``, insert the staged ones."""
    existing = store.execute(
        "SELECT count(*) FROM conversations c SEMI JOIN stg_load l ON l.id = c.id"
    ).fetchone()[0]
    if existing:
        for table in ("messages", "function_calls", "tags", "parameters", "ground_truth"):
            store.execute(f"DELETE FROM {table} WHERE conversation_id IN (SELECT id FROM stg_load)")  # noqa: S608
        store.execute("DELETE FROM conversations WHERE id IN (SELECT id FROM stg_load)")
    store.execute(
        f"""
        INSERT INTO conversations BY NAME
        SELECT id, flow, platform, contact, contact_id, status,
               coalesce(started_at, first_at) AS started_at, coalesce(ended_at, last_at) AS ended_at,
               date_diff('millisecond', coalesce(started_at, first_at), coalesce(ended_at, last_at)) / 1000.0
                   AS duration_s,
               summary, analysis, recording, message_count, function_count, last_message, last_message_at,
               extra, content_hash, ? AS source_file, line AS source_line, now()::TIMESTAMP AS ingested_at,
               function_names, tag_entries, parameter_entries
        FROM {rows}
        """,  # noqa: S608
        [file],
    )
    # The child rows go through a materialised CTE: a scan of the staging table runs
    # on one thread (it is one row group), the CTE's result is read by all of them,
    # so the writes (compression) run in parallel.
    store.execute(
        f"""
        INSERT INTO messages
        WITH x AS MATERIALIZED (
            SELECT id, (i - 1)::INTEGER AS seq, m.role, m.text, m.sent_at
            FROM (SELECT c.id, unnest(c.messages) AS m, generate_subscripts(c.messages, 1) AS i FROM {rows}))
        SELECT * FROM x
        """  # noqa: S608
    )
    store.execute(
        f"""
        INSERT INTO function_calls
            SELECT id, (i - 1)::INTEGER AS seq, f.name, f.arguments, f.output, f.status, f.called_at, f.call_ref
            FROM (SELECT c.id, unnest(c.functions) AS f, generate_subscripts(c.functions, 1) AS i FROM {rows})
        """  # noqa: S608
    )
    # Keys are unique per record (cl_kv keeps a repeated key's last value).
    for table in ("tags", "parameters"):
        store.execute(
            f"""
            INSERT INTO {table}
                SELECT id, kv.key, kv.value FROM (SELECT c.id, unnest(c.{table}) AS kv FROM {rows})
            """  # noqa: S608
        )
    store.execute(
        f"""
        INSERT INTO ground_truth
        SELECT DISTINCT id, g, 'source' FROM (SELECT c.id, unnest(c.ground_truth) AS g FROM {rows})
        """  # noqa: S608
    )


ROLES_SQL = _ROLE_LIST
STATUS_SQL = _STATUS_LIST
