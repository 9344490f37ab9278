"""Per-conversation features that review criteria are written against.

The features are one set-based DuckDB query over the whole store (no Python
loop per conversation). Criteria may only name the features listed in
:data:`FEATURES`; that whitelist is what keeps criteria files out of SQL.
Emotion features are NULL where no emotion scores exist, so criteria on them
simply do not fire.
"""

from __future__ import annotations

__all__ = ["FEATURES", "TEXT_FEATURES", "features_sql"]

# name -> kind ("number" | "text"); text features are compared to bound strings only.
FEATURES: dict[str, str] = {
    "status": "text",
    "flow": "text",
    "platform": "text",
    "duration_s": "number",
    "turns": "number",
    "customer_messages": "number",
    "agent_messages": "number",
    "human_agent_messages": "number",
    "system_messages": "number",
    "function_calls": "number",
    "failed_calls": "number",
    "first_failed_function": "text",
    "max_same_function": "number",
    "most_called_function": "text",
    "max_agent_repeat": "number",
    "repeated_reply": "text",
    "max_reply_gap_s": "number",
    "max_gap_seq": "number",
    "customer_text": "text",
    "agent_text": "text",
    "max_anger": "number",
    "max_annoyance": "number",
    "max_disappointment": "number",
    "mean_anger": "number",
    "mean_annoyance": "number",
    "mean_disappointment": "number",
    "max_negative_emotion": "number",
    "sentiment_start": "number",
    "sentiment_end": "number",
    "start_polarity": "text",
    "end_polarity": "text",
    "flow_median_duration_s": "number",
    "duration_robust_z": "number",
}
TEXT_FEATURES = frozenset(k for k, v in FEATURES.items() if v == "text")


def features_sql(*, emotions: bool) -> str:
    """The SELECT computing one row of features per conversation.

    Parameters
    ----------
    emotions
        Whether the emotion tables hold scores; when False the emotion features
        are NULL constants (skipping the joins keeps unscored stores fast).
    """
    if emotions:
        # Only the latest model's scores count, so a re-score with a new model
        # does not mix two models' scales.
        emo_cte = """
        , model AS (SELECT model_id FROM emotion_runs ORDER BY finished_at DESC NULLS LAST LIMIT 1),
        emo AS (
            SELECT s.conversation_id,
                   max(s.anger::DOUBLE) AS max_anger, max(s.annoyance::DOUBLE) AS max_annoyance,
                   max(s.disappointment::DOUBLE) AS max_disappointment,
                   avg(s.anger) AS mean_anger, avg(s.annoyance) AS mean_annoyance,
                   avg(s.disappointment) AS mean_disappointment
            FROM message_emotion_scores s JOIN model USING (model_id)
            WHERE s.role = 'customer' GROUP BY 1
        ),
        cemo AS (
            SELECT ce.conversation_id, ce.sentiment_start, ce.sentiment_end,
                   ce.start_polarity, ce.end_polarity
            FROM conversation_emotions ce JOIN model USING (model_id)
        )"""
        emo_cols = """
            round(emo.max_anger, 3) AS max_anger, round(emo.max_annoyance, 3) AS max_annoyance,
            round(emo.max_disappointment, 3) AS max_disappointment,
            round(emo.mean_anger, 3) AS mean_anger, round(emo.mean_annoyance, 3) AS mean_annoyance,
            round(emo.mean_disappointment, 3) AS mean_disappointment,
            round(greatest(emo.max_anger, emo.max_annoyance, emo.max_disappointment), 3)
                AS max_negative_emotion,
            round(cemo.sentiment_start, 3) AS sentiment_start, round(cemo.sentiment_end, 3) AS sentiment_end,
            cemo.start_polarity, cemo.end_polarity"""
        emo_join = "LEFT JOIN emo ON emo.conversation_id = c.id LEFT JOIN cemo ON cemo.conversation_id = c.id"
    else:
        emo_cte = ""
        emo_cols = """
            NULL::DOUBLE AS max_anger, NULL::DOUBLE AS max_annoyance, NULL::DOUBLE AS max_disappointment,
            NULL::DOUBLE AS mean_anger, NULL::DOUBLE AS mean_annoyance, NULL::DOUBLE AS mean_disappointment,
            NULL::DOUBLE AS max_negative_emotion, NULL::DOUBLE AS sentiment_start,
            NULL::DOUBLE AS sentiment_end, NULL::VARCHAR AS start_polarity, NULL::VARCHAR AS end_polarity"""
        emo_join = ""
    return f"""
    WITH msg AS (
        SELECT conversation_id,
               count(*) AS turns,
               count(*) FILTER (WHERE role = 'customer') AS customer_messages,
               count(*) FILTER (WHERE role = 'agent') AS agent_messages,
               count(*) FILTER (WHERE role = 'human_agent') AS human_agent_messages,
               count(*) FILTER (WHERE role = 'system') AS system_messages,
               string_agg(text, chr(10) ORDER BY seq) FILTER (WHERE role = 'customer') AS customer_text,
               string_agg(text, chr(10) ORDER BY seq) FILTER (WHERE role = 'agent') AS agent_text
        FROM messages GROUP BY 1
    ),
    -- The wait is measured from the last customer message of a run (not the
    -- first) to the next agent reply, or to the end of the conversation if none
    -- came: a customer typing two lines in a row is not waiting.
    waits AS (
        SELECT conversation_id, seq, sent_at, role,
               lead(role) OVER w AS next_role,
               min(CASE WHEN role IN ('agent', 'human_agent') THEN sent_at END) OVER (
                   PARTITION BY conversation_id ORDER BY seq
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_reply_at
        FROM messages
        WINDOW w AS (PARTITION BY conversation_id ORDER BY seq)
    ),
    gaps AS (
        SELECT w.conversation_id,
               max(epoch(coalesce(w.next_reply_at, c.ended_at) - w.sent_at)) AS max_reply_gap_s,
               arg_max(w.seq, epoch(coalesce(w.next_reply_at, c.ended_at) - w.sent_at)) AS max_gap_seq
        FROM waits w JOIN conversations c ON c.id = w.conversation_id
        WHERE w.role = 'customer' AND (w.next_role IS DISTINCT FROM 'customer')
        GROUP BY 1
    ),
    -- Only back-to-back agent replies count as repeats (other roles in between
    -- are skipped): a stock phrase used twice in a long call is not a loop.
    repeats AS (
        SELECT conversation_id, max(n) AS max_agent_repeat, arg_max(text, n) AS repeated_reply
        FROM (SELECT conversation_id, text, 1 + count(*) AS n
              FROM (SELECT conversation_id, text,
                           lag(text) OVER (PARTITION BY conversation_id ORDER BY seq) AS prev_text
                    FROM messages WHERE role = 'agent')
              WHERE text = prev_text GROUP BY 1, 2)
        GROUP BY 1
    ),
    fn AS (
        SELECT conversation_id, sum(n) AS function_calls, max(n) AS max_same_function,
               arg_max(name, n) AS most_called_function, sum(failed) AS failed_calls,
               min(first_failed) AS first_failed_function
        FROM (SELECT conversation_id, name, count(*) AS n,
                     count(*) FILTER (WHERE status = 'error') AS failed,
                     CASE WHEN count(*) FILTER (WHERE status = 'error') > 0 THEN name END AS first_failed
              FROM function_calls GROUP BY 1, 2)
        GROUP BY 1
    ),
    -- Robust z-score within flow: MAD is scaled by 1.4826 to estimate an SD.
    dur AS (
        SELECT flow, median(duration_s) AS med,
               1.4826 * median(abs(duration_s - med_inner)) AS mad_sd
        FROM (SELECT flow, duration_s, median(duration_s) OVER (PARTITION BY flow) AS med_inner
              FROM conversations WHERE duration_s IS NOT NULL)
        GROUP BY 1
    ){emo_cte}
    SELECT c.id AS conversation_id, c.status, c.flow, c.platform, round(c.duration_s, 1) AS duration_s,
           coalesce(msg.turns, 0) AS turns,
           coalesce(msg.customer_messages, 0) AS customer_messages,
           coalesce(msg.agent_messages, 0) AS agent_messages,
           coalesce(msg.human_agent_messages, 0) AS human_agent_messages,
           coalesce(msg.system_messages, 0) AS system_messages,
           coalesce(fn.function_calls, 0) AS function_calls,
           coalesce(fn.failed_calls, 0) AS failed_calls, fn.first_failed_function,
           coalesce(fn.max_same_function, 0) AS max_same_function, fn.most_called_function,
           coalesce(repeats.max_agent_repeat, 0) AS max_agent_repeat, repeats.repeated_reply,
           round(gaps.max_reply_gap_s, 1) AS max_reply_gap_s, gaps.max_gap_seq,
           msg.customer_text, msg.agent_text,
           {emo_cols},
           round(dur.med, 1) AS flow_median_duration_s,
           round(CASE WHEN dur.mad_sd > 0 THEN (c.duration_s - dur.med) / dur.mad_sd END, 1)
               AS duration_robust_z
    FROM conversations c
    LEFT JOIN msg ON msg.conversation_id = c.id
    LEFT JOIN gaps ON gaps.conversation_id = c.id
    LEFT JOIN repeats ON repeats.conversation_id = c.id
    LEFT JOIN fn ON fn.conversation_id = c.id
    LEFT JOIN dur ON dur.flow IS NOT DISTINCT FROM c.flow
    {emo_join}
    """  # noqa: S608 (only fixed SQL fragments are interpolated)
