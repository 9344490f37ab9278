"""Canonical JSON lines: one conversation per line, in convolab's own shape (DESIGN.md).

:func:`stage` is the fast path. Each line is parsed once, straight into typed
values (:data:`FAST_SPEC`), and a set-based check decides per record whether
those typed values are exactly what the exact path would produce. A typed parse
turns a JSON number into a string without a word, so the check is conservative:
free-text top-level fields are read as JSON to see their quotes; platform,
status and timestamps must match a fixed set or an ISO-8601 pattern that no
other JSON value can; inside messages and function calls a value that could have
been a number, boolean, list or object (it starts with a digit, ``-``, ``[`` or
``{``, or is ``true``/``false``) makes the record suspect, as do unknown
top-level keys, anything NULL that was present, and anything that fails a check. Suspect records (and
undecodable or non-object lines) go through the exact path
(:func:`stage_messages_and_functions`), which gives each bad record its precise
reason; clean data never does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from convolab.ingest.sources import lines_source, load_lines, plan_root
from convolab.ingest.staging import (
    KNOWN_FIELDS,
    READY_NAMES,
    ROLES_SQL,
    STATUS_SQL,
    nest_exact,
    stage_json_records,
    with_figures,
)
from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["FAST_PATH", "FAST_SPEC", "stage", "stage_messages_and_functions"]

#: Off sends every record through the exact path (tests compare the two).
FAST_PATH = True

# Free-text scalars stay JSON (cheap: few and short) so that their type is exact.
_SCALARS = ("id", "flow", "contact", "contact_id", "summary", "analysis", "recording")
# These are read as VARCHAR: a non-string there reads as text no check accepts
# (not a platform, a status or an ISO timestamp), so the record goes the exact way.
_CHECKED = ("platform", "status", "started_at", "ended_at")
#: The typed shape of a canonical record; the bulk is parsed straight to VARCHAR.
FAST_SPEC = (
    "{" + ",".join([f'"{k}":"JSON"' for k in _SCALARS] + [f'"{k}":"VARCHAR"' for k in _CHECKED])
    + ',"tags":"MAP(VARCHAR,VARCHAR)","parameters":"MAP(VARCHAR,VARCHAR)"'
    + ',"messages":[{"role":"VARCHAR","text":"VARCHAR","at":"VARCHAR"}]'
    + ',"functions":[{"name":"VARCHAR","arguments":"JSON","output":"JSON","status":"VARCHAR","at":"VARCHAR"}]'
    + ',"ground_truth":["VARCHAR"]}'
)
_MACROS = (
    # A JSON-typed value -> its string when it is a JSON string, else NULL. Without
    # a backslash (chr(92)) the JSON text is the string between its quotes.
    r"""CREATE OR REPLACE TEMP MACRO cl_jstr(v) AS CASE
          WHEN ascii(v) <> 34 THEN NULL WHEN contains(v, chr(92)) THEN v->>'$' ELSE v[2:-2] END""",
    "CREATE OR REPLACE TEMP MACRO cl_jok(v) AS v IS NULL OR ascii(v) = 34",
    # A VARCHAR-typed value that may have been a non-string JSON value.
    """CREATE OR REPLACE TEMP MACRO cl_maybe_nonstr(v) AS
       v IN ('true', 'false') OR ascii(v) IN (45, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 91, 123)""",
    # cl_iso and cl_iso_ok (ISO-8601 with a real-world offset) are convolab.ingest.timestamps'.
)


def stage(store: Workbench, path: Path, target: str = "stg_ready") -> int:
    """The file at ``path`` -> ``target`` (a view with the staging contract's columns).

    ``stg_fast`` gets one row per line of the file, parsed in parallel straight
    from DuckDB's line reader. Its line numbers are its rowids + 1: the plan is
    checked to be an order-keeping (batch) insert first, since one operator that
    does not keep order (a join, say; an IN list of many constants becomes one)
    would silently shuffle them. If that check or the statement fails (a line
    that is not JSON, a file the line reader refuses), the lines are first put
    into ``stg_lines`` (:func:`~convolab.ingest.sources.load_lines`) and parsed
    from there, with explicit line numbers and every parse wrapped in ``try``.
    Returns how many records took the exact path.
    """
    for statement in _MACROS:
        store.execute(statement)
    known = ", ".join(f"'{k}'" for k in KNOWN_FIELDS)
    present = lambda k: f"(r.{k} IS NOT NULL OR NOT list_contains(keys, '{k}'))"  # noqa: E731
    msg_ok = (
        f"m IS NOT NULL AND cl_role(m.role) IN ({ROLES_SQL})"
        " AND (m.text IS NULL OR NOT cl_maybe_nonstr(m.text)) AND cl_iso_ok(m.at)"
    )
    fn_ok = (
        "f IS NOT NULL AND f.name IS NOT NULL AND NOT cl_maybe_nonstr(f.name)"
        " AND (f.status IS NULL OR NOT cl_maybe_nonstr(f.status)) AND cl_iso_ok(f.at)"
    )
    scalars = ", ".join([f"cl_jstr(r.{k}) AS {k}" for k in _SCALARS] + [f"r.{k} AS {k}" for k in _CHECKED])
    scalars_ok = " AND ".join(f"cl_jok(r.{k})" for k in _SCALARS)
    fast = f"""
        WITH p AS (
            SELECT __LINE__ AS line, raw, bad_utf8, NOT bad_utf8 AND cl_blank(raw) AS blank,
                   CASE WHEN ascii(raw) = 123 THEN __TRY__(json_transform(raw, '{FAST_SPEC}')) END AS r,
                   CASE WHEN ascii(raw) = 123 THEN __TRY__(json_keys(raw)) END AS keys
            FROM __SOURCE__),
        t AS (SELECT *, {scalars} FROM p),
        v AS (
            SELECT *, coalesce(
                {FAST_PATH} AND r IS NOT NULL AND keys IS NOT NULL AND cl_record_ok(strlen(raw))
                AND list_filter(keys, lambda k: k NOT IN ({known})) = []
                AND {scalars_ok} AND trim(id) <> ''
                AND (platform IS NULL OR platform IN ('phone', 'web'))
                AND (status IS NULL OR list_contains([{STATUS_SQL}], status))
                AND cl_iso_ok(started_at) AND cl_iso_ok(ended_at)
                AND NOT coalesce(cl_iso(ended_at) < cl_iso(started_at), false)
                AND r.messages IS NOT NULL AND {present('tags')} AND {present('parameters')}
                AND {present('functions')} AND {present('ground_truth')}
                AND list_filter(coalesce(r.ground_truth, []), lambda g: g IS NULL) = []
                AND list_filter(r.messages, lambda m: NOT coalesce({msg_ok}, false)) = []
                AND list_filter(coalesce(r.functions, []), lambda f: NOT coalesce({fn_ok}, false)) = [],
                false) AS ok
            FROM t)
        SELECT line, blank, ok, bad_utf8, CASE WHEN NOT ok THEN raw END AS raw,
               id, flow, platform, contact, contact_id, cl_status(status) AS status,
               cl_iso(started_at) AS started_at, cl_iso(ended_at) AS ended_at,
               summary, analysis, recording,
               map_entries(r.tags) AS tags, map_entries(r.parameters) AS parameters,
               r.ground_truth AS ground_truth,
               list_transform(r.messages, lambda m: {{'role': cl_role(m.role), 'text': m.text, 'sent_at': cl_iso(m.at)}})
                   AS messages,
               list_transform(r.functions, lambda f: {{'name': f.name, 'arguments': f.arguments,
                   'output': f.output, 'status': coalesce(f.status, 'ok'), 'called_at': cl_iso(f.at),
                   'call_ref': NULL::VARCHAR}}) AS functions,
               NULL::JSON AS extra, CASE WHEN ok THEN cl_hash(raw) END AS content_hash, NULL::VARCHAR AS error
        FROM v
        """  # noqa: S608
    fast = f"CREATE OR REPLACE TEMP TABLE stg_fast AS {with_figures(fast)}"
    # try() halves the parse speed even when nothing fails, so first without it:
    # only invalid JSON or an object with a repeated key inside tags/parameters
    # fail, and then with it. A failure of the line reader itself (not UTF-8, CR...)
    # goes straight to stg_lines.
    source, params = lines_source(path)
    staged = False
    for try_ in ("", "try"):
        in_order = fast.replace("__TRY__", try_).replace("__SOURCE__", source).replace("__LINE__", "NULL::BIGINT")
        try:
            if plan_root(store, in_order, params) == "BATCH_CREATE_TABLE_AS":
                store.execute(in_order, params)
                staged = True
            break
        except DatabaseError as exc:
            if "CSV" in str(exc):
                break
    if not staged:
        load_lines(store, path)
        store.execute(fast.replace("__TRY__", "try").replace("__SOURCE__", "stg_lines").replace("__LINE__", "rowid + 1"))
    store.execute("CREATE OR REPLACE TEMP VIEW stg_fast_lines AS SELECT coalesce(line, rowid + 1) AS line, * EXCLUDE (line) FROM stg_fast")
    suspects = store.execute("SELECT count(*) FROM stg_fast WHERE NOT ok AND NOT blank").fetchone()[0]
    fast_rows = f"SELECT {', '.join(READY_NAMES)} FROM stg_fast_lines WHERE ok"  # noqa: S608
    if not suspects:
        store.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS {fast_rows}")
        return 0
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE stg_exact_src AS
        SELECT line, raw, bad_utf8 FROM stg_fast_lines WHERE NOT ok AND NOT blank
        """
    )
    stage_json_records(store)
    stage_messages_and_functions(store)
    nest_exact(store, "stg_exact")
    store.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {target} AS
        {fast_rows} UNION ALL SELECT {', '.join(READY_NAMES)} FROM stg_exact
        """  # noqa: S608
    )
    return suspects


_MESSAGE_SPEC = '[{"role":"JSON","text":"JSON","at":"JSON"}]'
_FUNCTION_SPEC = '[{"name":"JSON","arguments":"JSON","output":"JSON","status":"JSON","at":"JSON"}]'


def stage_messages_and_functions(store: Workbench) -> None:
    """Fill ``stg_msg`` and ``stg_fn`` from ``stg_conv``'s canonical ``messages``/``functions``."""
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_msg AS
        WITH src AS (
            SELECT line, json_transform(messages_json, '{_MESSAGE_SPEC}') AS ms
            FROM stg_conv WHERE errors = [] AND json_type(messages_json) = 'ARRAY'),
        m AS (SELECT line, unnest(ms) AS m, generate_subscripts(ms, 1) - 1 AS seq FROM src)
        SELECT line, seq::INTEGER AS seq, cl_role(cl_str(m.role)) AS role, cl_str(m.text) AS text,
               cl_ts(m.at) AS sent_at,
               CASE
                 WHEN cl_str(m.role) IS NULL THEN 'message ' || seq || ': missing role (or not an object)'
                 WHEN cl_role(cl_str(m.role)) NOT IN ({ROLES_SQL})
                      THEN 'message ' || seq || ': unknown role ' || left(cl_str(m.role), 40)
                 WHEN m.text IS NOT NULL AND json_type(m.text) <> 'VARCHAR'
                      THEN 'message ' || seq || ': text must be a string, got ' || cl_jtype((m.text))
                 ELSE cl_ts_err(m.at, 'message ' || seq || ' at')
               END AS error
        FROM m
        """  # noqa: S608
    )
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_fn AS
        WITH src AS (
            SELECT line, json_transform(functions_json, '{_FUNCTION_SPEC}') AS fs
            FROM stg_conv WHERE errors = [] AND json_type(functions_json) = 'ARRAY'),
        f AS (SELECT line, unnest(fs) AS f, generate_subscripts(fs, 1) - 1 AS seq FROM src)
        SELECT line, seq::INTEGER AS seq, cl_str(f.name) AS name, f.arguments::JSON AS arguments,
               f.output::JSON AS output, coalesce(cl_str(f.status), 'ok') AS status,
               cl_ts(f.at) AS called_at, NULL::VARCHAR AS call_ref,
               CASE
                 WHEN cl_str(f.name) IS NULL THEN 'function ' || seq || ': missing name (or not an object)'
                 WHEN f.status IS NOT NULL AND json_type(f.status) <> 'VARCHAR'
                      THEN 'function ' || seq || ': status must be a string'
                 ELSE cl_ts_err(f.at, 'function ' || seq || ' at')
               END AS error
        FROM f
        """  # noqa: S608
    )
