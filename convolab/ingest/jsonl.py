"""Canonical JSON lines: one conversation per line, in convolab's own shape (DESIGN.md)."""

from __future__ import annotations

import duckdb

from convolab.ingest.staging import ROLES_SQL

__all__ = ["stage_messages_and_functions"]

_MESSAGE_SPEC = '[{"role":"JSON","text":"JSON","at":"JSON"}]'
_FUNCTION_SPEC = '[{"name":"JSON","arguments":"JSON","output":"JSON","status":"JSON","at":"JSON"}]'


def stage_messages_and_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``stg_msg`` and ``stg_fn`` from ``stg_conv``'s canonical ``messages``/``functions``."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_msg AS
        WITH src AS (
            SELECT line, json_transform(messages_json, '{_MESSAGE_SPEC}') AS ms
            FROM stg_conv WHERE errors = [] AND json_type(messages_json) = 'ARRAY'),
        m AS (SELECT line, unnest(ms) AS m, generate_subscripts(ms, 1) - 1 AS seq FROM src)
        SELECT line, seq::INTEGER AS seq, cl_str(m.role) AS role, cl_str(m.text) AS text,
               cl_ts(m.at) AS sent_at,
               CASE
                 WHEN cl_str(m.role) IS NULL THEN 'message ' || seq || ': missing role (or not an object)'
                 WHEN cl_str(m.role) NOT IN ({ROLES_SQL})
                      THEN 'message ' || seq || ': unknown role ' || left(cl_str(m.role), 40)
                 WHEN m.text IS NOT NULL AND json_type(m.text) <> 'VARCHAR'
                      THEN 'message ' || seq || ': text must be a string, got ' || cl_jtype((m.text))
                 ELSE cl_ts_err(m.at, 'message ' || seq || ' at')
               END AS error
        FROM m
        """
    )
    con.execute(
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
        """
    )
