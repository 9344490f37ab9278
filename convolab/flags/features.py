"""Per-conversation features that review criteria are written against, and their cache.

Features come in groups (message counts, transcript text, reply waits, agent
repeats, function calls, duration statistics, emotions, sentiment, call audio); each group
is one set-based DuckDB query over the whole store (no Python loop per
conversation). Criteria may only name the features listed in
:data:`FEATURES`; that whitelist is what keeps criteria files out of SQL.
Emotion features are NULL where no emotion scores exist, so criteria on them
simply do not fire.

The features are cached per connection in the temporary table
``_flag_features`` (one row per conversation). :func:`ensure_features` adds
only the groups a caller needs and reuses the ones already built, so
re-evaluating one criterion after a threshold change is a single query over
the cached table. Each group remembers a fingerprint of the data it was built
from (conversations, messages and function calls; emotion scores for the
emotion groups) and is rebuilt when that data has changed: a load, an upsert,
a delete, a new scoring run. Changes made behind the store's back with raw SQL
that keep row counts and ``content_hash`` the same are not noticed; call
:func:`invalidate_features` (or pass ``refresh=True`` to ``run_flags``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = [
    "FEATURES",
    "FEATURES_TABLE",
    "GROUP_OF",
    "TEXT_FEATURES",
    "ensure_features",
    "features_in_sql",
    "features_sql",
    "invalidate_features",
]

FEATURES_TABLE = "_flag_features"
_STATE_TABLE = "_flag_features_state"


@dataclass(frozen=True)
class _Group:
    """One group of features: a keyed subquery and the columns taken from it.

    ``source`` is a SELECT with one row per conversation (``conversation_id``
    plus raw columns), ``columns`` are ``(feature, kind, expression over g)``
    where ``g`` is the subquery's alias; expressions apply defaults for
    conversations the subquery has no row for.
    """

    name: str
    columns: tuple[tuple[str, str, str], ...]
    emotions: bool = False  # built from emotion scores (own fingerprint)


_BASE_COLUMNS = (("status", "text"), ("flow", "text"), ("platform", "text"), ("duration_s", "number"))
_BASE_SQL = ("SELECT c.id AS conversation_id, c.status, c.flow, c.platform, round(c.duration_s, 1) AS duration_s"
             " FROM conversations c")

_MESSAGES_SQL = """
    SELECT conversation_id,
           count(*) AS turns,
           count(*) FILTER (WHERE role = 'customer') AS customer_messages,
           count(*) FILTER (WHERE role = 'agent') AS agent_messages,
           count(*) FILTER (WHERE role = 'human_agent') AS human_agent_messages,
           count(*) FILTER (WHERE role = 'system') AS system_messages
    FROM messages GROUP BY 1
"""

_TEXT_SQL = """
    SELECT conversation_id,
           string_agg(text, chr(10) ORDER BY seq) FILTER (WHERE role = 'customer') AS customer_text,
           string_agg(text, chr(10) ORDER BY seq) FILTER (WHERE role = 'agent') AS agent_text
    FROM messages GROUP BY 1
"""

# A customer waits from the last message of a run of customer messages (a
# customer typing two lines in a row is not waiting) until the next agent or
# human-agent message. A wait that got a reply is a reply time; the wait after
# the last customer message that never got one runs to the end of the
# conversation (NULL while it has not ended). Times are never invented: the
# reply is the *next* agent message, and when it or the customer message has no
# time the wait is NULL (unknown), not the time to some later message; a reply
# stamped before the message it answers is NULL too.
#
# Reply times differ by channel (seconds on the phone, hours on social media), so
# the slowest reply is also scored against its flow's own distribution: a robust
# z-score of its log (median and MAD of the log slowest reply over the flow's
# conversations, MAD scaled by 1.4826 to an SD). A flow with fewer than
# _MIN_PEERS conversations with a reply time is scored against its platform's,
# and with fewer still, or no spread, the z-score is NULL.
_MIN_PEERS = 20
_WAITS_SQL = f"""
    WITH w AS (
        SELECT conversation_id, seq, sent_at, role,
               lead(role) OVER (PARTITION BY conversation_id ORDER BY seq) AS next_role,
               min(CASE WHEN role IN ('agent', 'human_agent') THEN seq END) OVER (
                   PARTITION BY conversation_id ORDER BY seq
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS reply_seq
        FROM messages
    ),
    x AS (
        SELECT w.conversation_id, w.seq,
               CASE WHEN w.reply_seq IS NULL THEN epoch(c.ended_at - w.sent_at)
                    ELSE epoch(r.sent_at - w.sent_at) END AS wait_s,
               epoch(r.sent_at - w.sent_at) AS reply_s,
               CASE WHEN w.reply_seq IS NULL THEN epoch(c.ended_at - w.sent_at) END AS unanswered_s
        FROM w JOIN conversations c ON c.id = w.conversation_id
        LEFT JOIN messages r ON r.conversation_id = w.conversation_id AND r.seq = w.reply_seq
        WHERE w.role = 'customer' AND w.next_role IS DISTINCT FROM 'customer'
    ),
    y AS (
        SELECT conversation_id, seq,
               CASE WHEN wait_s >= 0 THEN wait_s END AS wait_s,
               CASE WHEN reply_s >= 0 THEN reply_s END AS reply_s,
               CASE WHEN unanswered_s >= 0 THEN unanswered_s END AS unanswered_s
        FROM x
    ),
    per AS (
        SELECT y.conversation_id, any_value(c.flow) AS flow, any_value(c.platform) AS platform,
               max(wait_s) AS max_reply_gap_s, arg_max(seq, wait_s) AS max_gap_seq,
               max(reply_s) AS slowest_reply_s, arg_max(seq, reply_s) AS slowest_reply_seq,
               median(reply_s) AS median_reply_s,
               max(unanswered_s) AS unanswered_wait_s, arg_max(seq, unanswered_s) AS unanswered_seq
        FROM y JOIN conversations c ON c.id = y.conversation_id
        GROUP BY 1
    ),
    logs AS (SELECT *, ln(greatest(slowest_reply_s, 1)) AS ln_s FROM per WHERE slowest_reply_s IS NOT NULL),
    by_flow AS (
        SELECT flow, count(*) AS n, median(ln_s) AS med, median(median_reply_s) AS typical
        FROM logs GROUP BY 1
    ),
    by_platform AS (
        SELECT platform, count(*) AS n, median(ln_s) AS med, median(median_reply_s) AS typical
        FROM logs GROUP BY 1
    ),
    spread AS (
        SELECT l.conversation_id,
               1.4826 * median(abs(l.ln_s - f.med)) OVER (PARTITION BY l.flow) AS flow_sd,
               1.4826 * median(abs(l.ln_s - p.med)) OVER (PARTITION BY l.platform) AS platform_sd
        FROM logs l
        JOIN by_flow f ON f.flow IS NOT DISTINCT FROM l.flow
        JOIN by_platform p ON p.platform IS NOT DISTINCT FROM l.platform
    )
    SELECT per.conversation_id, per.max_reply_gap_s, per.max_gap_seq, per.slowest_reply_s,
           per.slowest_reply_seq, per.unanswered_wait_s, per.unanswered_seq,
           CASE WHEN f.n >= {_MIN_PEERS} THEN f.typical WHEN p.n >= {_MIN_PEERS} THEN p.typical END
               AS typical_reply_s,
           CASE WHEN f.n >= {_MIN_PEERS} AND s.flow_sd > 0 THEN (ln(greatest(per.slowest_reply_s, 1)) - f.med) / s.flow_sd
                WHEN f.n < {_MIN_PEERS} AND p.n >= {_MIN_PEERS} AND s.platform_sd > 0
                    THEN (ln(greatest(per.slowest_reply_s, 1)) - p.med) / s.platform_sd
           END AS slowest_reply_log_z
    FROM per
    LEFT JOIN by_flow f ON f.flow IS NOT DISTINCT FROM per.flow
    LEFT JOIN by_platform p ON p.platform IS NOT DISTINCT FROM per.platform
    LEFT JOIN spread s ON s.conversation_id = per.conversation_id
"""  # noqa: S608 (a fixed query; _MIN_PEERS is a constant)

# Only back-to-back agent replies count as repeats (other roles in between are
# skipped): a stock phrase used twice in a long call is not a loop.
_REPEATS_SQL = """
    SELECT conversation_id, max(n) AS max_agent_repeat, arg_max(text, n) AS repeated_reply
    FROM (SELECT conversation_id, text, 1 + count(*) AS n
          FROM (SELECT conversation_id, text,
                       lag(text) OVER (PARTITION BY conversation_id ORDER BY seq) AS prev_text
                FROM messages WHERE role = 'agent')
          WHERE text = prev_text GROUP BY 1, 2)
    GROUP BY 1
"""

_FUNCTIONS_SQL = """
    SELECT conversation_id, sum(n) AS function_calls, max(n) AS max_same_function,
           arg_max(name, n) AS most_called_function, sum(failed) AS failed_calls,
           min(first_failed) AS first_failed_function
    FROM (SELECT conversation_id, name, count(*) AS n,
                 count(*) FILTER (WHERE status = 'error') AS failed,
                 CASE WHEN count(*) FILTER (WHERE status = 'error') > 0 THEN name END AS first_failed
          FROM function_calls GROUP BY 1, 2)
    GROUP BY 1
"""

# Robust z-scores within flow: the MAD is scaled by 1.4826 to estimate an SD.
# Durations are right-skewed (a call cannot be shorter than 0 s, but can run
# ten times the usual length), so the log-scale score is the one to threshold;
# durations under 1 s count as 1 s there.
_DURATION_SQL = """
    WITH d AS (
        SELECT flow, duration_s, ln(greatest(duration_s, 1)) AS ln_d,
               median(duration_s) OVER (PARTITION BY flow) AS med_inner,
               median(ln(greatest(duration_s, 1))) OVER (PARTITION BY flow) AS ln_med_inner
        FROM conversations WHERE duration_s IS NOT NULL
    ),
    s AS (
        SELECT flow, median(duration_s) AS med, 1.4826 * median(abs(duration_s - med_inner)) AS mad_sd,
               median(ln_d) AS ln_med, 1.4826 * median(abs(ln_d - ln_med_inner)) AS ln_mad_sd
        FROM d GROUP BY 1
    )
    SELECT c.id AS conversation_id, s.med AS flow_median_duration_s,
           CASE WHEN s.mad_sd > 0 THEN (c.duration_s - s.med) / s.mad_sd END AS duration_robust_z,
           CASE WHEN s.ln_mad_sd > 0 THEN (ln(greatest(c.duration_s, 1)) - s.ln_med) / s.ln_mad_sd END
               AS duration_log_z,
           c.duration_s / nullif(s.med, 0) AS duration_ratio
    FROM conversations c LEFT JOIN s ON s.flow IS NOT DISTINCT FROM c.flow
"""

# Only the latest scoring run's model counts, so a re-score with a new model
# does not mix two models' scales.
_LATEST_MODEL = "(SELECT model_id FROM emotion_runs ORDER BY finished_at DESC NULLS LAST LIMIT 1)"

# Per customer message, the strongest of the emotions a reviewer reads as
# frustration (anger, annoyance, disappointment); the conversation's peak, and
# its second-highest message (persistence: two clearly negative turns, not one
# isolated word).
_NEGATIVE = "greatest(anger, annoyance, disappointment)"
_EMOTIONS_SQL = f"""
    SELECT conversation_id,
           max(anger::DOUBLE) AS max_anger, max(annoyance::DOUBLE) AS max_annoyance,
           max(disappointment::DOUBLE) AS max_disappointment,
           avg(anger) AS mean_anger, avg(annoyance) AS mean_annoyance,
           avg(disappointment) AS mean_disappointment,
           coalesce(list_sort(list({_NEGATIVE}::DOUBLE), 'DESC')[2], 0) AS second_negative_emotion,
           count(*) FILTER (WHERE polarity = 'negative') AS negative_turns,
           count(*) AS scored_customer_messages
    FROM message_emotion_scores
    WHERE role = 'customer' AND model_id = {_LATEST_MODEL}
    GROUP BY 1
"""  # noqa: S608 (a fixed subquery)

# The customer's arc, over their n scored messages: the opening is the mean
# sentiment of the first ceil(n/3); the close is the *lowest* sentiment of the
# last ceil(n/2), so a last "ok thanks bye" after a bad late stretch does not
# hide it, and a polite close after a neutral opening reads neutral, not worse.
# closing_negative_emotion is the strongest anger, annoyance, disappointment,
# disapproval, disgust or sadness over that same stretch (politeness, apology
# and worry are not in it). first/last_sentiment are the first and last message.
# sentiment_start/_end are the emotion module's (first and last third, means).
_DOWNCAST = "greatest(anger, annoyance, disappointment, disapproval, disgust, sadness)"
_SENTIMENT_SQL = f"""
    WITH s AS (
        SELECT conversation_id, seq, sentiment, {_DOWNCAST}::DOUBLE AS downcast,
               row_number() OVER (PARTITION BY conversation_id ORDER BY seq) AS k,
               count(*) OVER (PARTITION BY conversation_id) AS n
        FROM message_emotion_scores
        WHERE role = 'customer' AND model_id = {_LATEST_MODEL}
    ),
    arc AS (
        SELECT conversation_id, arg_min(sentiment, seq) AS first_sentiment,
               arg_max(sentiment, seq) AS last_sentiment,
               avg(sentiment) FILTER (WHERE k <= ceil(n / 3.0)) AS opening_sentiment,
               min(sentiment) FILTER (WHERE k > n - ceil(n / 2.0)) AS closing_sentiment,
               max(downcast) FILTER (WHERE k > n - ceil(n / 2.0)) AS closing_negative_emotion
        FROM s GROUP BY 1
    )
    SELECT coalesce(ce.conversation_id, arc.conversation_id) AS conversation_id,
           ce.sentiment_start, ce.sentiment_end, ce.start_polarity, ce.end_polarity,
           arc.first_sentiment, arc.last_sentiment, arc.opening_sentiment, arc.closing_sentiment,
           arc.closing_negative_emotion
    FROM (SELECT * FROM conversation_emotions WHERE model_id = {_LATEST_MODEL}) ce
    FULL JOIN arc ON arc.conversation_id = ce.conversation_id
"""  # noqa: S608 (a fixed subquery)


# Call-recording figures from each conversation's current audio analysis (convolab.audio):
# the newest analysis of the recording the conversation names now, when it succeeded.
# Conversations without one (web chats, calls not analysed, failed files) get NULLs, so
# audio criteria do not fire on them.
_AUDIO_SQL = """
    SELECT a.* FROM (
        SELECT a.*, row_number() OVER (PARTITION BY a.conversation_id ORDER BY a.analysed_at DESC) AS k
        FROM audio_analyses a JOIN conversations c ON c.id = a.conversation_id AND c.recording = a.recording
    ) a WHERE a.k = 1 AND a.status = 'ok'
"""


def _r(column: str, digits: int = 3) -> str:
    return f"round(g.{column}, {digits})"


_GROUPS: dict[str, tuple[_Group, str]] = {
    g.name: (g, sql) for g, sql in [
        (_Group("messages", tuple(
            (name, "number", f"coalesce(g.{name}, 0)")
            for name in ("turns", "customer_messages", "agent_messages", "human_agent_messages", "system_messages")
        )), _MESSAGES_SQL),
        (_Group("text", (("customer_text", "text", "g.customer_text"), ("agent_text", "text", "g.agent_text"))),
         _TEXT_SQL),
        (_Group("waits", (
            ("max_reply_gap_s", "number", _r("max_reply_gap_s", 1)), ("max_gap_seq", "number", "g.max_gap_seq"),
            ("slowest_reply_s", "number", _r("slowest_reply_s", 1)),
            ("slowest_reply_seq", "number", "g.slowest_reply_seq"),
            ("unanswered_wait_s", "number", _r("unanswered_wait_s", 1)),
            ("unanswered_seq", "number", "g.unanswered_seq"),
            ("typical_reply_s", "number", _r("typical_reply_s", 1)),
            ("slowest_reply_log_z", "number", _r("slowest_reply_log_z", 2)),
        )), _WAITS_SQL),
        (_Group("repeats", (("max_agent_repeat", "number", "coalesce(g.max_agent_repeat, 0)"),
                            ("repeated_reply", "text", "g.repeated_reply"))), _REPEATS_SQL),
        (_Group("functions", (
            ("function_calls", "number", "coalesce(g.function_calls, 0)"),
            ("failed_calls", "number", "coalesce(g.failed_calls, 0)"),
            ("first_failed_function", "text", "g.first_failed_function"),
            ("max_same_function", "number", "coalesce(g.max_same_function, 0)"),
            ("most_called_function", "text", "g.most_called_function"),
        )), _FUNCTIONS_SQL),
        (_Group("duration", (
            ("flow_median_duration_s", "number", _r("flow_median_duration_s", 1)),
            ("duration_robust_z", "number", _r("duration_robust_z", 1)),
            ("duration_log_z", "number", _r("duration_log_z", 1)),
            ("duration_ratio", "number", _r("duration_ratio", 1)),
        )), _DURATION_SQL),
        (_Group("emotions", (
            *((name, "number", _r(name)) for name in (
                "max_anger", "max_annoyance", "max_disappointment", "mean_anger", "mean_annoyance",
                "mean_disappointment")),
            ("max_negative_emotion", "number",
             "round(greatest(g.max_anger, g.max_annoyance, g.max_disappointment), 3)"),
            ("second_negative_emotion", "number", _r("second_negative_emotion")),
            ("negative_turns", "number", "g.negative_turns"),
            ("scored_customer_messages", "number", "g.scored_customer_messages"),
        ), emotions=True), _EMOTIONS_SQL),
        (_Group("sentiment", (
            ("sentiment_start", "number", _r("sentiment_start")), ("sentiment_end", "number", _r("sentiment_end")),
            ("start_polarity", "text", "g.start_polarity"), ("end_polarity", "text", "g.end_polarity"),
            ("first_sentiment", "number", _r("first_sentiment")),
            ("last_sentiment", "number", _r("last_sentiment")),
            ("opening_sentiment", "number", _r("opening_sentiment")),
            ("closing_sentiment", "number", _r("closing_sentiment")),
            ("closing_negative_emotion", "number", _r("closing_negative_emotion")),
        ), emotions=True), _SENTIMENT_SQL),
        (_Group("audio", (
            ("audio_duration_s", "number", _r("duration_s", 1)),
            ("talk_ratio", "number", _r("talk_ratio")),
            ("dead_air_count", "number", "g.dead_air_count"),
            ("dead_air_longest_s", "number", _r("dead_air_longest_s", 1)),
            ("dead_air_total_s", "number", _r("dead_air_total_s", 1)),
            ("agent_latency_p50_ms", "number", "round(g.latency_p50_ms)"),
            ("agent_latency_p95_ms", "number", "round(g.latency_p95_ms)"),
            ("agent_latency_max_ms", "number", "round(g.latency_max_ms)"),
            ("agent_interruptions", "number", "g.interruptions_agent"),
            ("customer_interruptions", "number", "g.interruptions_customer"),
            ("overtalk_s", "number", _r("overtalk_s", 1)),
        )), _AUDIO_SQL),
    ]
}

#: name -> kind ("number" | "text"); text features are compared to bound strings only.
FEATURES: dict[str, str] = {
    **dict(_BASE_COLUMNS),
    **{name: kind for group, _ in _GROUPS.values() for name, kind, _expr in group.columns},
}
TEXT_FEATURES = frozenset(k for k, v in FEATURES.items() if v == "text")
#: feature -> the group that computes it ("base" for columns of ``conversations``).
GROUP_OF: dict[str, str] = {
    **{name: "base" for name, _ in _BASE_COLUMNS},
    **{name: group.name for group, _ in _GROUPS.values() for name, _kind, _expr in group.columns},
}


def _group_select(names: list[str], *, emotions: bool) -> tuple[str, str]:
    """Column list and LEFT JOINs adding the named groups to a base aliased ``f``."""
    cols: list[str] = []
    joins: list[str] = []
    for k, name in enumerate(names):
        group, sql = _GROUPS[name]
        alias = f"g{k}"
        for feature, kind, expr in group.columns:
            if group.emotions and not emotions:
                cols.append(f"NULL::{'VARCHAR' if kind == 'text' else 'DOUBLE'} AS {feature}")
            else:
                cols.append(re.sub(r"\bg\.", f"{alias}.", expr) + f" AS {feature}")
        if not (group.emotions and not emotions):
            joins.append(f"LEFT JOIN ({sql}) {alias} ON {alias}.conversation_id = f.conversation_id")
    return ", ".join(cols), " ".join(joins)


def features_sql(*, emotions: bool, groups: Iterable[str] | None = None) -> str:
    """The SELECT computing one row of features per conversation.

    Parameters
    ----------
    emotions
        Whether the emotion tables hold scores; when False the emotion features
        are NULL constants (skipping the joins keeps unscored stores fast).
    groups
        Feature groups to include besides the base columns (default: all).
    """
    names = list(_GROUPS) if groups is None else [g for g in _GROUPS if g in set(groups)]
    cols, joins = _group_select(names, emotions=emotions)
    return f"SELECT f.*{', ' + cols if cols else ''} FROM ({_BASE_SQL}) f {joins}"  # noqa: S608


_FEATURE_REF = re.compile(r"\bf\.([a-z_][a-z0-9_]*)")


def features_in_sql(sql: str) -> set[str]:
    """Feature names an SQL fragment over the features table (alias ``f``) reads."""
    return {m for m in _FEATURE_REF.findall(sql) if m in FEATURES}


def _fingerprints(store: Workbench) -> tuple[str, str]:
    """(core, emotions): cheap summaries that change whenever the data features read changes.

    Loads and upserts change ``content_hash`` and ``ingested_at``, deletes change
    counts; a scoring run adds an ``emotion_runs`` row and score rows; an audio run
    adds or replaces ``audio_analyses`` rows (counted with the core data: audio runs are
    rare, so rebuilding every group after one costs little).
    """
    core = store.execute(
        """
        SELECT concat_ws(':',
            (SELECT count(*) FROM conversations),
            (SELECT coalesce(bit_xor(hash(id, content_hash, ingested_at, status, ended_at, duration_s)), 0)
             FROM conversations),
            (SELECT count(*) FROM messages), (SELECT count(*) FROM function_calls),
            (SELECT concat(count(*), '@', max(analysed_at)) FROM audio_analyses))
        """
    ).fetchone()[0]
    try:
        emo = store.execute(
            """
            SELECT concat_ws(':', (SELECT count(*) FROM emotion_runs),
                (SELECT coalesce(max(finished_at)::VARCHAR, '') FROM emotion_runs),
                (SELECT coalesce(max(started_at)::VARCHAR, '') FROM emotion_runs),
                (SELECT count(*) FROM message_emotions), (SELECT count(*) FROM conversation_emotions))
            """
        ).fetchone()[0]
    except DatabaseError:
        emo = "none"
    return str(core), str(emo)


def _state(store: Workbench) -> dict[str, str]:
    """Built groups and the fingerprint each was built from ({} when there is no cache)."""
    if not store.has_temp_tables(FEATURES_TABLE, _STATE_TABLE):
        return {}
    return dict(store.execute(f"SELECT grp, fingerprint FROM {_STATE_TABLE}").fetchall())  # noqa: S608


def invalidate_features(store: Workbench) -> None:
    """Drop the cached features, so the next evaluation recomputes them."""
    store.execute(f"DROP TABLE IF EXISTS {FEATURES_TABLE}")
    store.execute(f"DROP TABLE IF EXISTS {_STATE_TABLE}")


def ensure_features(store: Workbench, features: Iterable[str] = (), *,
                    refresh: bool = False) -> list[str]:
    """Make ``_flag_features`` hold (at least) the given features, up to date.

    Only missing or stale groups are computed; groups already built from the
    same data are kept. Returns the groups (re)built, for tests and benchmarks.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    features
        Feature names needed (see :data:`FEATURES`); the base columns are always there.
    refresh
        Rebuild everything needed even if the cache looks current.
    """
    order = list(_GROUPS)
    wanted = {GROUP_OF[f] for f in features if f in GROUP_OF} - {"base"}
    core, emo = _fingerprints(store)
    emotions = emo != "none" and not emo.startswith("0:")

    def fingerprint(group: str) -> str:
        return f"{core}|{emo}" if _GROUPS[group][0].emotions else core

    state = {} if refresh else _state(store)
    if state.get("base") == core:
        # Same conversations: keep the fresh groups, add missing ones, replace
        # stale ones (emotion groups after a new scoring run).
        have = {g: fp for g, fp in state.items() if g != "base"}
        fresh = {g for g, fp in have.items() if fp == fingerprint(g)}
        stale = set(have) - fresh
        build = sorted(wanted - fresh, key=order.index)
        if not build and not stale:
            return []
        drop = [feature for g in sorted(stale) for feature, _kind, _expr in _GROUPS[g][0].columns]
        cols, joins = _group_select(build, emotions=emotions)
        exclude = f" EXCLUDE ({', '.join(drop)})" if drop else ""
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE {FEATURES_TABLE} AS"  # noqa: S608 (fixed fragments only)
            f" SELECT f.*{exclude}{', ' + cols if cols else ''} FROM {FEATURES_TABLE} f {joins}"
        )
        groups = sorted(fresh | set(build), key=order.index)
    else:
        build = sorted(wanted, key=order.index)
        store.execute(f"CREATE OR REPLACE TEMP TABLE {FEATURES_TABLE} AS "
                    f"{features_sql(emotions=emotions, groups=build)}")
        groups = build
        build = ["base", *build]
    store.execute(f"CREATE OR REPLACE TEMP TABLE {_STATE_TABLE} (grp VARCHAR, fingerprint VARCHAR)")
    store.executemany(f"INSERT INTO {_STATE_TABLE} VALUES (?, ?)",  # noqa: S608
                    [("base", core), *((g, fingerprint(g)) for g in groups)])
    return build
