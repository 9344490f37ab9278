"""OpenAI-style chat-completions messages, with tool calls and tool results.

``user`` -> customer, ``assistant`` -> agent; each assistant ``tool_calls`` entry
becomes a function call whose output is the ``tool`` message answering it (by
``tool_call_id``). A tool message that answers no call makes the record invalid:
its output would otherwise be silently lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["stage_messages_and_functions"]

_MESSAGE_SPEC = (
    '[{"role":"JSON","content":"JSON","timestamp":"JSON","tool_calls":"JSON",'
    '"tool_call_id":"JSON","name":"JSON"}]'
)
_TOOL_CALL_SPEC = '[{"id":"VARCHAR","type":"VARCHAR","function":{"name":"VARCHAR","arguments":"JSON"}}]'
_ROLE_MAP = (
    "CASE r WHEN 'user' THEN 'customer' WHEN 'assistant' THEN 'agent' ELSE r END"
)
_KNOWN_ROLES = "'user', 'assistant', 'tool', 'system', 'customer', 'agent', 'human_agent', 'supervisor'"


def stage_messages_and_functions(store: Workbench) -> None:
    """Fill ``stg_msg`` and ``stg_fn`` from ``stg_conv``'s OpenAI-style ``messages``."""
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE oa_msg AS
        WITH src AS (
            SELECT line, json_transform(messages_json, '{_MESSAGE_SPEC}') AS ms
            FROM stg_conv WHERE errors = [] AND json_type(messages_json) = 'ARRAY'),
        m AS (SELECT line, unnest(ms) AS m, generate_subscripts(ms, 1) - 1 AS idx FROM src)
        SELECT line, idx, cl_role(cl_str(m.role)) AS r, m.content, m.timestamp AS ts, m.tool_calls,
               cl_str(m.tool_call_id) AS tool_call_id,
               -- content is a string, or a list of parts ({{"type": "text", "text": ...}})
               CASE json_type(m.content)
                 WHEN 'VARCHAR' THEN m.content->>'$'
                 WHEN 'ARRAY' THEN array_to_string(
                     json_transform(m.content, '[{{"text":"VARCHAR"}}]').list_transform(lambda p: p.text), '')
               END AS text,
               CASE
                 WHEN cl_str(m.role) IS NULL THEN 'message ' || idx || ': missing role (or not an object)'
                 WHEN cl_role(cl_str(m.role)) NOT IN ({_KNOWN_ROLES})
                      THEN 'message ' || idx || ': unknown role ' || left(cl_str(m.role), 40)
                 WHEN m.content IS NOT NULL AND json_type(m.content) NOT IN ('VARCHAR', 'ARRAY')
                      THEN 'message ' || idx || ': content must be a string or a list of parts'
                 WHEN m.tool_calls IS NOT NULL AND json_type(m.tool_calls) <> 'ARRAY'
                      THEN 'message ' || idx || ': tool_calls must be a list'
                 WHEN cl_role(cl_str(m.role)) = 'tool' AND cl_str(m.tool_call_id) IS NULL
                      THEN 'message ' || idx || ': tool message without tool_call_id'
                 ELSE cl_ts_err(m.timestamp, 'message ' || idx || ' timestamp')
               END AS error
        FROM m
        """  # noqa: S608
    )
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE oa_call AS
        WITH src AS (
            SELECT line, idx, ts, json_transform(tool_calls, '{_TOOL_CALL_SPEC}') AS tcs
            FROM oa_msg WHERE r = 'assistant' AND json_type(tool_calls) = 'ARRAY')
        SELECT line, idx, ts, tc.id AS call_id, tc.function.name AS name,
               tc.function.arguments AS raw_arguments, k
        FROM (SELECT line, idx, ts, unnest(tcs) AS tc, generate_subscripts(tcs, 1) AS k FROM src)
        """  # noqa: S608
    )
    # Transcript: every non-tool message with text; tool results become function outputs.
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_msg AS
        SELECT line, (row_number() OVER (PARTITION BY line ORDER BY idx) - 1)::INTEGER AS seq,
               {_ROLE_MAP} AS role, text, cl_ts(ts) AS sent_at, error
        FROM oa_msg
        WHERE error IS NOT NULL OR (r <> 'tool' AND coalesce(trim(text), '') <> '')
        """  # noqa: S608
    )
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE stg_fn AS
        WITH tool AS (SELECT line, idx, tool_call_id, text FROM oa_msg WHERE r = 'tool'),
        answered AS (
            SELECT c.*, t.text AS result, t.idx AS result_idx
            FROM oa_call c LEFT JOIN tool t ON t.line = c.line AND t.tool_call_id = c.call_id
            QUALIFY row_number() OVER (PARTITION BY c.line, c.idx, c.k ORDER BY t.idx) = 1),
        orphans AS (
            SELECT t.line, t.idx, t.tool_call_id FROM tool t
            ANTI JOIN oa_call c ON c.line = t.line AND c.call_id = t.tool_call_id)
        SELECT line, (row_number() OVER (PARTITION BY line ORDER BY idx, k) - 1)::INTEGER AS seq,
               name,
               -- arguments arrive as a JSON-encoded string; keep the text when it is not valid JSON
               CASE WHEN json_type(raw_arguments) = 'VARCHAR' AND json_valid(raw_arguments->>'$')
                    THEN (raw_arguments->>'$')::JSON ELSE raw_arguments END AS arguments,
               CASE WHEN result IS NULL THEN NULL
                    WHEN json_valid(result) THEN result::JSON ELSE to_json(result) END AS output,
               CASE WHEN result IS NULL THEN 'no_result'
                    WHEN json_valid(result) AND json_type(result) = 'OBJECT'
                         AND (result::JSON->'error') IS NOT NULL THEN 'error'
                    ELSE 'ok' END AS status,
               cl_ts(ts) AS called_at, call_id AS call_ref,
               CASE WHEN name IS NULL THEN 'message ' || idx || ': tool call without a function name' END AS error
        FROM answered
        UNION ALL
        SELECT line, (1000000 + idx)::INTEGER, NULL, NULL, NULL, NULL, NULL, NULL,
               'message ' || idx || ': tool message answers tool_call_id ' || left(tool_call_id, 60)
               || ', which no assistant message called'
        FROM orphans
        """
    )
    store.execute("DROP TABLE IF EXISTS oa_msg")
    store.execute("DROP TABLE IF EXISTS oa_call")
