"""The report model: every figure of a conversation report, computed in DuckDB, as polars frames.

:func:`build_report` selects the conversations of the period (and of the previous period)
once, into a temporary "scope" table with one row per conversation and the columns every
section needs (status, human involvement, handle time, the customer's overall sentiment),
and their review flags into a second one (one row per conversation and criterion, with the
newest QA decision). Each section is then one grouped query over those tables, or over the
child table it reads (tags, function calls, audio analyses) joined to the scope, so no
Python loop runs per conversation.

Definitions (the one-liners live in :mod:`convolab.reports.definitions`):

- A conversation belongs to a period when it *started* on one of its days (UTC).
- Rates are shares of **all** conversations in the period, so the status mix adds up to 100%.
- Contained: status ``completed`` and no ``human_agent`` / ``supervisor`` message.
- Handle time: ``duration_s`` of conversations that ended (not in progress, queued or
  unanswered); mean and 90th percentile.
- Emotions: only the latest scoring run's model counts (as review flags do), so a re-score
  with a new model does not mix two models' scales.
- Flags: one per (conversation, criterion), whatever its source; the newest QA decision per
  (conversation, criterion) wins; "open" means that decision is not a dismissal.
- Changes: counts change by a relative amount (``+12%``), rates by percentage points (the
  difference of the fractions), times by seconds; the raw value is in the ``change`` columns.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from convolab.reports.definitions import AUDIO_KPIS, KPIS, SECTION_NOTES, Kpi, flag_kpi
from convolab.reports.period import GRANULARITIES, Period, parse_day
from convolab.store import ConversationFilter

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["Report", "build_report", "list_flows", "list_platforms", "store_days"]

# Caps that keep a report (and the published page) the same size whatever the store holds.
MAX_FLOWS = 25
MAX_REASONS = 10
MAX_FUNCTIONS = 15
MAX_CRITERIA = 30
MAX_EMOTIONS = 10
MAX_TREND_CRITERIA = 12
EXAMPLES_PER_CRITERION = 3

_LATEST_MODEL = "(SELECT model_id FROM emotion_runs ORDER BY finished_at DESC NULLS LAST LIMIT 1)"
_HUMAN_ROLES = "('human_agent', 'supervisor')"
# Statuses of conversations that have not ended (or never started): no handle time.
_NOT_HANDLED = "('in_progress', 'queued', 'no_answer')"


@dataclass
class Report:
    """A conversation report: headline figures and sections, each with the previous period beside it.

    Every frame has the current period's figures, the previous period's (``previous_*``,
    null when there is no previous period) and the ``change``. Labels (flows, call reasons,
    function and criterion names) are raw store values: escape them, and scrub them with
    :func:`convolab.reports.privacy.scrub` before publishing.

    Attributes
    ----------
    period
        The days covered, the previous period and the chart bucket (:class:`Period`).
    flow, platform
        The filters (``None``: all).
    kpis
        One row per headline figure: name, label, counts (one line), unit, better, value,
        previous, change, section.
    volume
        Per time bucket of either period: period, bucket, x (the bucket's date, the previous
        period's shifted onto the current one), conversations, contained, transferred,
        abandoned, failed, handled, handle_mean_s and the four rates.
    statuses
        Status mix: status, conversations, share, previous, previous_share, change.
    sentiment, sentiment_trend, sentiment_arc, emotions
        Polarity mix, mean sentiment and negative share per bucket, how sentiment moved
        within conversations, and the emotions most often among a conversation's top three;
        ``None`` when nothing in the period was scored.
    flags
        Per criterion: conversations flagged, rate, previous_rate, change, reviewed, coverage,
        confirmed, confirm_rate, examples (up to 3 conversation ids).
    flag_trend
        Flag rate per bucket of the most frequent criteria.
    call_reasons, functions, flows
        Top call reasons (tag ``call_reason``), function-call failure rates, and a per-flow table.
    audio
        Call-audio figures (name, label, counts, unit, better, value, previous, change), or
        ``None`` when no recording in the period was analysed.
    notes
        Section -> why it is empty or what it does not compare (see ``SECTION_NOTES``).
    """

    period: Period
    flow: tuple[str, ...] | None
    platform: str | None
    generated_at: datetime
    emotion_model: str | None
    kpis: pl.DataFrame
    volume: pl.DataFrame
    statuses: pl.DataFrame
    sentiment: pl.DataFrame | None
    sentiment_trend: pl.DataFrame | None
    sentiment_arc: pl.DataFrame | None
    emotions: pl.DataFrame | None
    flags: pl.DataFrame
    flag_trend: pl.DataFrame
    call_reasons: pl.DataFrame
    functions: pl.DataFrame
    flows: pl.DataFrame
    audio: pl.DataFrame | None
    notes: dict[str, str] = field(default_factory=dict)

    # -- reading -------------------------------------------------------------------------

    def kpi(self, name: str) -> float | None:
        """The current value of a headline figure (``None`` when it cannot be computed)."""
        for frame in (self.kpis, self.audio):
            if frame is not None:
                row = frame.filter(pl.col("name") == name)
                if row.height:
                    return row["value"][0]
        raise KeyError(f"no figure named {name!r} in this report")

    @property
    def total(self) -> int:
        """Conversations in the period."""
        return int(self.kpi("conversations") or 0)

    # -- drill-down ------------------------------------------------------------------------

    def base_filter(self) -> ConversationFilter:
        """The conversations of the period and filters, as the table widget understands them."""
        return _current_filter(self.period, self.flow, self.platform)

    def drill(self, kind: str, key: Any = None) -> ConversationFilter | None:
        """The filter that lists the conversations behind a figure, a bar or a table row.

        Parameters
        ----------
        kind
            ``kpi`` (key: a KPI name), ``status``, ``flow``, ``criterion``, ``call_reason``,
            ``function`` (failed calls of it), ``emotion``, ``polarity`` or ``bucket``
            (key: the bucket's first day).
        key
            What was clicked.

        Returns
        -------
        ConversationFilter or None
            ``None`` when no filter describes it (e.g. "Other flows", an audio figure).
        """
        base = self.base_filter()
        if kind == "kpi":
            return self._drill_kpi(str(key), base)
        if key is None:
            return None
        if kind == "status":
            return replace(base, status=str(key))
        if kind == "flow":
            return replace(base, flow=str(key))
        if kind == "criterion":
            return replace(base, criterion=str(key))
        if kind == "call_reason":
            return replace(base, tag=("call_reason", str(key)))
        if kind == "function":
            return replace(base, failed_function=str(key))
        if kind == "emotion":
            return replace(base, emotion=str(key))
        if kind == "polarity":
            return replace(base, polarity=str(key))
        if kind == "bucket":
            first = parse_day(key, what="bucket")
            last = _bucket_end(first, self.period.granularity)
            if self.period.start is not None:
                first = max(first, self.period.start)
            if self.period.end is not None:
                last = min(last, self.period.end)
            return replace(base, since=first, until=last)
        raise ValueError(f"unknown drill-down kind {kind!r}")

    def _drill_kpi(self, name: str, base: ConversationFilter) -> ConversationFilter | None:
        if name.startswith("flag_rate_"):
            return replace(base, criterion=name.removeprefix("flag_rate_"))
        simple: dict[str, dict[str, Any]] = {
            "conversations": {},
            "containment_rate": {"status": "completed", "human": False},
            "transfer_rate": {"status": "transferred"},
            "abandonment_rate": {"status": "abandoned"},
            "failure_rate": {"status": "failed"},
            "negative_sentiment_rate": {"polarity": "negative"},
            "flagged_rate": {"flagged": True},
            "review_coverage": {"flagged": True},
            "confirm_rate": {"flagged": True},
        }
        if name in simple:
            return replace(base, **simple[name])
        return None


# -- building ------------------------------------------------------------------------------


def _current_filter(period: Period, flow: tuple[str, ...] | None, platform: str | None) -> ConversationFilter:
    # Only the ends the caller chose bound the query: "everything" then includes conversations
    # without a start time, and the drill-down lists exactly what the report counted.
    return ConversationFilter(
        flow=list(flow) if flow else None,
        platform=platform,
        since=period.start if period.chosen_start else None,
        until=period.end if period.chosen_end else None,
    )


def _bucket_end(first: date, granularity: str) -> date:
    if granularity == "day":
        return first
    if granularity == "week":
        return first + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    y, m = divmod(first.month - 1 + months, 12)
    return date(first.year + y, m + 1, 1) - timedelta(days=1)


def store_days(lab: Workbench, *, flow: str | Sequence[str] | None = None,
               platform: str | None = None) -> tuple[date | None, date | None]:
    """The first and last day with a conversation (matching the filters), or ``(None, None)``."""
    where, params = ConversationFilter(flow=_flows(flow), platform=platform).where()
    row = lab.execute(
        f"SELECT min(c.started_at)::DATE, max(c.started_at)::DATE FROM conversations c WHERE {where}",  # noqa: S608
        params,
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def list_flows(lab: Workbench) -> list[str]:
    """The flows in the store, for a filter control."""
    return [r[0] for r in lab.execute(
        "SELECT DISTINCT flow FROM conversations WHERE flow IS NOT NULL ORDER BY 1").fetchall()]


def list_platforms(lab: Workbench) -> list[str]:
    """The platforms in the store, for a filter control."""
    return [r[0] for r in lab.execute(
        "SELECT DISTINCT platform FROM conversations WHERE platform IS NOT NULL ORDER BY 1").fetchall()]


def _flows(flow: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if flow is None or flow == "" or (not isinstance(flow, str) and not list(flow)):
        return None
    return (flow,) if isinstance(flow, str) else tuple(str(f) for f in flow)


def build_report(
    lab: Workbench,
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    flow: str | Sequence[str] | None = None,
    platform: str | None = None,
    granularity: str = "auto",
) -> Report:
    """Compute a conversation report for a period and filters.

    Parameters
    ----------
    lab
        The open store.
    since, until
        First and last day of the period (``YYYY-MM-DD`` or dates, both included). Without
        them the report covers everything in the store and compares with nothing.
    flow, platform
        Only these flows (one or several) / this platform.
    granularity
        Bucket of the charts over time: ``auto`` (the smallest of day, week, month, quarter,
        year giving at most 120 points), or one of those.

    Returns
    -------
    Report

    Examples
    --------
    >>> report = build_report(lab, since="2026-11-01", until="2026-11-30", flow="Billing Chat")
    >>> report.kpi("containment_rate")
    0.7412
    """
    since_day = parse_day(since, what="--from")
    until_day = parse_day(until, what="--to")
    flows = _flows(flow)
    platform = platform or None
    first_day, last_day = store_days(lab, flow=flows, platform=platform)
    period = Period.resolve(since_day, until_day, first_day=first_day, last_day=last_day,
                            granularity=granularity)
    model = lab.execute(_LATEST_MODEL[1:-1]).scalar()
    scope = _Scope(lab, period, flows, platform, model)
    try:
        return _assemble(lab, scope, period, flows, platform, model)
    finally:
        scope.drop()


class _Scope:
    """The conversations a report counts, as temporary tables on the store's connection.

    ``name``: one row per conversation of the period (``period = 'current'``) and of the
    previous period (``'previous'``), with the columns sections group by. ``pairs``: one row
    per (conversation, criterion) flagged in either period, with its newest QA decision.
    Child tables (tags, function calls, audio analyses) are joined to ``name``, except when
    the report covers the whole store unfiltered: then they are read directly, which at a
    million conversations saves a hash join each.
    """

    def __init__(self, lab: Workbench, period: Period, flows: tuple[str, ...] | None,
                 platform: str | None, model: str | None) -> None:
        self.lab = lab
        token = uuid.uuid4().hex[:12]
        self.name = f"_report_scope_{token}"
        self.pairs = f"_report_flags_{token}"
        self.whole = period.everything and not flows and not platform
        current_where, current_params = _current_filter(period, flows, platform).where()
        selects = [("current", current_where, current_params)]
        if period.has_previous:
            prev_where, prev_params = ConversationFilter(
                flow=list(flows) if flows else None, platform=platform,
                since=period.previous_start, until=period.previous_end,
            ).where()
            selects.append(("previous", prev_where, prev_params))
        if model is None:  # nothing scored: no join at all
            emotions, emotion_columns, emotion_params = "", (
                "NULL::VARCHAR AS polarity, NULL::DOUBLE AS sentiment, NULL::VARCHAR AS arc,"
                " NULL::VARCHAR[] AS top_emotions"), []
        else:
            emotions = ("LEFT JOIN (SELECT conversation_id, polarity, sentiment, trend, top_emotions"
                        " FROM conversation_emotions WHERE model_id = ?) ce ON ce.conversation_id = c.id")
            emotion_columns = "ce.polarity, ce.sentiment, ce.trend AS arc, ce.top_emotions"
            emotion_params = [model]
        bucket = _bucket_sql(period)
        parts, params = [], []
        for label, where, where_params in selects:
            # The period label and the bucket expression are literals from fixed sets: a bound
            # date_trunc unit costs a second per million rows.
            parts.append(f"""
                SELECT '{label}' AS period, c.id, c.flow, c.platform, c.status, c.started_at, c.duration_s,
                       {bucket} AS bucket,
                       c.id IN (SELECT conversation_id FROM messages WHERE role IN {_HUMAN_ROLES}) AS human,
                       c.duration_s IS NOT NULL AND coalesce(c.status, '') NOT IN {_NOT_HANDLED} AS handled,
                       {emotion_columns}
                FROM conversations c {emotions}
                WHERE {where}
            """)  # noqa: S608 - fixed fragments; filter values are bound
            params += [*emotion_params, *where_params]
        lab.execute(f"CREATE TEMP TABLE {self.name} AS " + " UNION ALL ".join(parts), params)
        # A flag is open unless its newest QA decision dismissed it (ties: any dismissal), as in
        # the store; "reviewed" means it has a decision, "confirmed" that none of the newest dismissed it.
        lab.execute(f"""
            CREATE TEMP TABLE {self.pairs} AS
            WITH p AS (SELECT DISTINCT s.period, s.id AS conversation_id, s.flow, s.bucket, s.started_at, f.criterion
                       FROM flags f JOIN {self.name} s ON s.id = f.conversation_id),
                 newest AS (SELECT conversation_id, criterion, bool_or(decision = 'dismissed') AS dismissed
                            FROM (SELECT conversation_id, criterion, decision FROM flag_decisions
                                  QUALIFY rank() OVER (PARTITION BY conversation_id, criterion
                                                       ORDER BY decided_at DESC) = 1)
                            GROUP BY ALL)
            SELECT p.*, n.conversation_id IS NOT NULL AS reviewed, coalesce(n.dismissed, false) AS dismissed
            FROM p LEFT JOIN newest n USING (conversation_id, criterion)
        """)  # noqa: S608 - generated table names

    def join(self, alias: str) -> tuple[str, str]:
        """(period expression, JOIN clause) restricting child table ``alias`` to the scope."""
        if self.whole:
            return "'current'", ""
        return "s.period", f"JOIN {self.name} s ON s.id = {alias}.conversation_id"

    def drop(self) -> None:
        self.lab.execute(f"DROP TABLE IF EXISTS {self.name}")
        self.lab.execute(f"DROP TABLE IF EXISTS {self.pairs}")


def _bucket_sql(period: Period) -> str:
    """SQL for a conversation's time bucket (its first day); only fixed units and integers."""
    if period.granularity == "year" and period.start is not None and period.end is not None:
        years = period.end.year - period.start.year + 1
        step = max(1, math.ceil(years / 120))
        if step > 1:  # absurd spans still give a bounded number of points
            first = int(period.start.year)
            return f"make_date(CAST(year(c.started_at) - (year(c.started_at) - {first}) % {step} AS INTEGER), 1, 1)"
    if period.granularity not in GRANULARITIES:  # never user text in SQL
        raise ValueError(f"unknown granularity {period.granularity!r}")
    return f"date_trunc('{period.granularity}', c.started_at)::DATE"


def _rate(n: Any, d: Any) -> float | None:
    return None if not d else float(n or 0) / float(d)


def _change(unit: str, value: float | None, previous: float | None) -> float | None:
    """Relative for counts and plain numbers, a difference for rates and times."""
    if value is None or previous is None:
        return None
    if unit in ("count", "number"):
        return None if previous == 0 else (value - previous) / previous
    return value - previous


def _by_period(frame: pl.DataFrame) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rows = {r["period"]: r for r in frame.to_dicts()}
    return rows.get("current", {}), rows.get("previous")


def _kpi_rows(defs: Sequence[Kpi], values: dict[str, float | None], previous: dict[str, float | None] | None,
              section: str) -> list[dict[str, Any]]:
    out = []
    for k in defs:
        v = values.get(k.name)
        p = previous.get(k.name) if previous is not None else None
        out.append({"name": k.name, "label": k.label, "counts": k.counts, "unit": k.unit, "better": k.better,
                    "value": None if v is None else float(v), "previous": None if p is None else float(p),
                    "change": _change(k.unit, v, p), "section": section})
    return out


_KPI_SCHEMA = {"name": pl.String, "label": pl.String, "counts": pl.String, "unit": pl.String,
               "better": pl.String, "value": pl.Float64, "previous": pl.Float64, "change": pl.Float64,
               "section": pl.String}


def _compare(frame: pl.DataFrame, key: str, value: str, *, total: dict[str, int] | None = None,
             has_previous: bool) -> pl.DataFrame:
    """Rows per ``key`` with the current and previous ``value`` (and shares of ``total``) side by side."""
    cur = frame.filter(pl.col("period") == "current").select(key, pl.col(value).alias(value))
    prev = frame.filter(pl.col("period") == "previous").select(key, pl.col(value).alias(f"previous_{value}"))
    out = cur.join(prev, on=key, how="full", coalesce=True).with_columns(
        pl.col(value).fill_null(0),
        (pl.col(f"previous_{value}").fill_null(0) if has_previous
         else pl.lit(None, dtype=pl.Int64).alias(f"previous_{value}")),
    )
    if total is not None:
        t_cur, t_prev = total.get("current") or 0, total.get("previous") or 0
        out = out.with_columns(
            (pl.col(value) / t_cur if t_cur else pl.lit(None, dtype=pl.Float64)).alias("share"),
            (pl.col(f"previous_{value}") / t_prev if has_previous and t_prev
             else pl.lit(None, dtype=pl.Float64)).alias("previous_share"),
        ).with_columns((pl.col("share") - pl.col("previous_share")).alias("change"))
    return out.sort([value, key], descending=[True, False], nulls_last=True)


def _assemble(lab: Workbench, scope: _Scope, period: Period, flows: tuple[str, ...] | None,
              platform: str | None, model: str | None) -> Report:
    prev = period.has_previous
    notes: dict[str, str] = {}
    if not prev:
        notes["previous"] = SECTION_NOTES["no_previous"]
    s, pairs = scope.name, scope.pairs

    # -- headline figures -------------------------------------------------------------------
    totals = lab.execute(f"""
        SELECT period, count(*) AS conversations,
               count(*) FILTER (WHERE status = 'completed' AND NOT human) AS contained,
               count(*) FILTER (WHERE status = 'transferred') AS transferred,
               count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE handled) AS handled,
               avg(duration_s) FILTER (WHERE handled) AS handle_time_mean_s,
               quantile_cont(duration_s, 0.9) FILTER (WHERE handled) AS handle_time_p90_s,
               count(polarity) AS scored,
               count(*) FILTER (WHERE polarity = 'negative') AS negative
        FROM {s} GROUP BY period
    """).pl()  # noqa: S608 - the scope table's name is generated here
    cur, prv = _by_period(totals)
    total = {"current": int(cur.get("conversations") or 0),
             "previous": int(prv.get("conversations") or 0) if prv else 0}
    flag_totals = {r[0]: r[1:] for r in lab.execute(f"""
        SELECT period, count(DISTINCT conversation_id) FILTER (WHERE NOT dismissed) AS flagged,
               count(*) AS pairs, count(*) FILTER (WHERE reviewed) AS reviewed,
               count(*) FILTER (WHERE reviewed AND NOT dismissed) AS confirmed
        FROM {pairs} GROUP BY period
    """).fetchall()}  # noqa: S608

    def headline(row: dict[str, Any], name: str) -> dict[str, float | None]:
        n = row.get("conversations") or 0
        flagged, n_pairs, reviewed, confirmed = flag_totals.get(name, (0, 0, 0, 0))
        return {
            "conversations": float(n),
            "containment_rate": _rate(row.get("contained"), n),
            "transfer_rate": _rate(row.get("transferred"), n),
            "abandonment_rate": _rate(row.get("abandoned"), n),
            "failure_rate": _rate(row.get("failed"), n),
            "handle_time_mean_s": row.get("handle_time_mean_s"),
            "handle_time_p90_s": row.get("handle_time_p90_s"),
            "negative_sentiment_rate": _rate(row.get("negative"), row.get("scored")),
            "flagged_rate": _rate(flagged, n),
            "review_coverage": _rate(reviewed, n_pairs),
            "confirm_rate": _rate(confirmed, reviewed),
        }

    kpi_rows = _kpi_rows(KPIS, headline(cur, "current"), headline(prv or {}, "previous") if prev else None,
                         "headline")

    # -- review flags ---------------------------------------------------------------------------
    flags, flag_kpis, flag_trend = _flag_section(lab, scope, total, prev)
    kpi_rows += flag_kpis
    if flags.height == 0:
        notes["flags"] = SECTION_NOTES["no_flags"]

    # -- volume and outcomes over time ---------------------------------------------------------
    volume = lab.execute(f"""
        SELECT period, bucket, count(*) AS conversations,
               count(*) FILTER (WHERE status = 'completed' AND NOT human) AS contained,
               count(*) FILTER (WHERE status = 'transferred') AS transferred,
               count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE handled) AS handled,
               avg(duration_s) FILTER (WHERE handled) AS handle_mean_s
        FROM {s} WHERE bucket IS NOT NULL GROUP BY ALL ORDER BY period, bucket
    """).pl()  # noqa: S608
    shift = timedelta(days=period.days)
    volume = volume.with_columns(
        pl.when(pl.col("period") == "previous").then(pl.col("bucket") + shift)
        .otherwise(pl.col("bucket")).alias("x"),
        *((pl.col(c) / pl.col("conversations")).alias(f"{c}_rate")
          for c in ("contained", "transferred", "abandoned", "failed")),
    )

    statuses = _compare(
        _counts(lab, s, "coalesce(status, '(none)')", "status"),
        "status", "conversations", total=total, has_previous=prev,
    )

    # -- customer sentiment ---------------------------------------------------------------------
    scored = {"current": int(cur.get("scored") or 0), "previous": int(prv.get("scored") or 0) if prv else 0}
    sentiment = sentiment_trend = sentiment_arc = emotions = None
    if scored["current"] == 0:
        notes["sentiment"] = SECTION_NOTES["not_scored"]
    else:
        sentiment = _compare(_counts(lab, s, "polarity", "polarity"), "polarity", "conversations",
                             total=scored, has_previous=prev)
        sentiment_arc = _compare(_counts(lab, s, "arc", "arc"), "arc", "conversations",
                                 total=scored, has_previous=prev)
        sentiment_trend = lab.execute(f"""
            SELECT bucket, count(polarity) AS scored, avg(sentiment) AS mean_sentiment,
                   count(*) FILTER (WHERE polarity = 'negative') / nullif(count(polarity), 0) AS negative_share,
                   count(*) FILTER (WHERE polarity = 'positive') / nullif(count(polarity), 0) AS positive_share
            FROM {s} WHERE period = 'current' AND bucket IS NOT NULL GROUP BY ALL ORDER BY bucket
        """).pl()  # noqa: S608
        emotions = _compare(
            lab.execute(f"""
                SELECT period, e.emotion, count(*) AS conversations
                FROM {s}, unnest(top_emotions) AS e(emotion)
                WHERE top_emotions IS NOT NULL GROUP BY ALL
            """).pl(),  # noqa: S608
            "emotion", "conversations", total=scored, has_previous=prev,
        ).head(MAX_EMOTIONS)

    # -- call reasons and functions ----------------------------------------------------------------
    # Ingest keeps (conversation_id, key) unique in `tags`, so rows count conversations.
    period_expr, join = scope.join("t")
    reasons = lab.execute(f"""
        SELECT {period_expr} AS period, t.value AS reason, count(*) AS conversations
        FROM tags t {join}
        WHERE t.key = 'call_reason' AND t.value IS NOT NULL GROUP BY ALL
    """).pl()  # noqa: S608
    call_reasons = _top_with_other(_compare(reasons, "reason", "conversations", total=total, has_previous=prev),
                                   "reason", MAX_REASONS, total, prev, "Other reasons")

    functions = _function_section(lab, scope, prev)
    flows_table = _flow_section(lab, scope, prev)

    # -- call audio ---------------------------------------------------------------------------------
    audio = _audio_section(lab, scope, prev)
    if audio is None:
        notes["audio"] = SECTION_NOTES["no_audio"]

    return Report(
        period=period,
        flow=flows,
        platform=platform,
        generated_at=datetime.now(UTC).replace(microsecond=0, tzinfo=None),
        emotion_model=model,
        kpis=pl.DataFrame(kpi_rows, schema=_KPI_SCHEMA),
        volume=volume,
        statuses=statuses,
        sentiment=sentiment,
        sentiment_trend=sentiment_trend,
        sentiment_arc=sentiment_arc,
        emotions=emotions,
        flags=flags,
        flag_trend=flag_trend,
        call_reasons=call_reasons,
        functions=functions,
        flows=flows_table,
        audio=audio,
        notes=notes,
    )


def _counts(lab: Workbench, scope: str, expression: str, name: str) -> pl.DataFrame:
    """Conversations per period and value of a fixed scope-column expression (NULLs left out)."""
    sql = f"SELECT period, {expression} AS {name}, count(*) AS conversations FROM {scope}"  # noqa: S608
    return lab.execute(sql + f" WHERE {expression} IS NOT NULL GROUP BY ALL").pl()


def _top_with_other(frame: pl.DataFrame, key: str, limit: int, total: dict[str, int], prev: bool,
                    other_label: str) -> pl.DataFrame:
    """The first ``limit`` rows, and the rest summed into one row marked ``other``."""
    frame = frame.with_columns(pl.lit(False).alias("other"))
    if frame.height <= limit:
        return frame
    head, rest = frame.head(limit), frame.slice(limit)
    n_cur = int(rest["conversations"].sum())
    n_prev = int(rest["previous_conversations"].sum()) if prev else None
    t_cur, t_prev = total.get("current") or 0, total.get("previous") or 0
    share = n_cur / t_cur if t_cur else None
    previous_share = (n_prev / t_prev) if prev and t_prev else None
    row = pl.DataFrame([{
        key: f"{other_label} ({rest.height:,})", "conversations": n_cur, "previous_conversations": n_prev,
        "share": share, "previous_share": previous_share,
        "change": None if share is None or previous_share is None else share - previous_share, "other": True,
    }], schema=head.schema)
    return pl.concat([head, row])


def _flag_section(lab: Workbench, scope: _Scope, total: dict[str, int],
                  prev: bool) -> tuple[pl.DataFrame, list[dict[str, Any]], pl.DataFrame]:
    pairs = scope.pairs
    criteria = [r[0] for r in lab.execute(
        "SELECT criterion FROM flags GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?", [MAX_CRITERIA]).fetchall()]
    per = {(r[0], r[1]): r[2:] for r in lab.execute(f"""
        SELECT period, criterion, count(*) AS conversations, count(*) FILTER (WHERE reviewed) AS reviewed,
               count(*) FILTER (WHERE reviewed AND NOT dismissed) AS confirmed
        FROM {pairs} GROUP BY ALL
    """).fetchall()}  # noqa: S608
    examples = dict(lab.execute(f"""
        SELECT criterion, list(conversation_id ORDER BY started_at DESC NULLS LAST, conversation_id)
        FROM (SELECT criterion, conversation_id, started_at FROM {pairs} WHERE period = 'current'
              QUALIFY row_number() OVER (PARTITION BY criterion
                                         ORDER BY started_at DESC NULLS LAST, conversation_id) <= ?)
        GROUP BY 1
    """, [EXAMPLES_PER_CRITERION]).fetchall())  # noqa: S608
    descriptions = _criterion_descriptions()
    t_cur, t_prev = total.get("current") or 0, total.get("previous") or 0
    rows, kpi_rows = [], []
    for crit in criteria:
        c_n, c_reviewed, c_confirmed = per.get(("current", crit), (0, 0, 0))
        p_n = per.get(("previous", crit), (0, 0, 0))[0]
        rate = _rate(c_n, t_cur)
        previous_rate = _rate(p_n, t_prev) if prev else None
        rows.append({
            "criterion": crit, "description": descriptions.get(crit), "conversations": c_n,
            "rate": rate, "previous_conversations": p_n if prev else None,
            "previous_rate": previous_rate, "change": _change("rate", rate, previous_rate),
            "reviewed": c_reviewed, "coverage": _rate(c_reviewed, c_n),
            "confirmed": c_confirmed, "confirm_rate": _rate(c_confirmed, c_reviewed),
            "examples": examples.get(crit, []),
        })
        kpi = flag_kpi(crit, descriptions.get(crit))
        kpi_rows += _kpi_rows([kpi], {kpi.name: rate}, {kpi.name: previous_rate} if prev else None, "flags")
    schema = {"criterion": pl.String, "description": pl.String, "conversations": pl.Int64, "rate": pl.Float64,
              "previous_conversations": pl.Int64, "previous_rate": pl.Float64, "change": pl.Float64,
              "reviewed": pl.Int64, "coverage": pl.Float64, "confirmed": pl.Int64, "confirm_rate": pl.Float64,
              "examples": pl.List(pl.String)}
    flags = pl.DataFrame(rows, schema=schema).sort(["conversations", "criterion"], descending=[True, False])
    top = flags.head(MAX_TREND_CRITERIA)["criterion"].to_list()
    trend = lab.execute(f"""
        WITH b AS (SELECT bucket, count(*) AS n FROM {scope.name} WHERE period = 'current' AND bucket IS NOT NULL
                   GROUP BY 1),
             f AS (SELECT bucket, criterion, count(*) AS conversations FROM {pairs}
                   WHERE period = 'current' AND bucket IS NOT NULL AND list_contains(?, criterion) GROUP BY ALL)
        SELECT b.bucket, c.criterion, coalesce(f.conversations, 0) AS conversations,
               coalesce(f.conversations, 0) / b.n AS rate
        FROM b CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS criterion) c
        LEFT JOIN f ON f.bucket = b.bucket AND f.criterion = c.criterion
        ORDER BY c.criterion, b.bucket
    """, [top, top]).pl()  # noqa: S608
    return flags, kpi_rows, trend


def _criterion_descriptions() -> dict[str, str]:
    """Descriptions of the built-in criteria (flags store only names)."""
    try:
        from convolab.flags import load_criteria

        return {c.name: c.description for c in load_criteria() if getattr(c, "description", None)}
    except Exception:  # noqa: BLE001 - a description is a nicety; a report never fails for it
        return {}


def _function_section(lab: Workbench, scope: _Scope, prev: bool) -> pl.DataFrame:
    period_expr, join = scope.join("fc")
    calls = lab.execute(f"""
        SELECT {period_expr} AS period, fc.name AS function, count(*) AS calls,
               count(*) FILTER (WHERE fc.status = 'error') AS failed
        FROM function_calls fc {join} GROUP BY ALL
    """).pl()  # noqa: S608
    cur = calls.filter(pl.col("period") == "current").drop("period")
    old = calls.filter(pl.col("period") == "previous").select(
        "function", pl.col("calls").alias("previous_calls"), pl.col("failed").alias("previous_failed"))
    out = cur.join(old, on="function", how="left").with_columns(
        (pl.col("failed") / pl.col("calls")).alias("failure_rate"),
        (pl.col("previous_failed") / pl.col("previous_calls")).alias("previous_failure_rate")
        if prev else pl.lit(None, dtype=pl.Float64).alias("previous_failure_rate"),
    ).with_columns((pl.col("failure_rate") - pl.col("previous_failure_rate")).alias("change"))
    return out.sort(["calls", "function"], descending=[True, False]).head(MAX_FUNCTIONS)


def _flow_section(lab: Workbench, scope: _Scope, prev: bool) -> pl.DataFrame:
    per_flow = lab.execute(f"""
        WITH flagged AS (SELECT period, coalesce(flow, '(no flow)') AS flow,
                                count(DISTINCT conversation_id) AS flagged
                         FROM {scope.pairs} WHERE NOT dismissed GROUP BY ALL),
             base AS (SELECT period, coalesce(flow, '(no flow)') AS flow, count(*) AS conversations,
                             count(*) FILTER (WHERE status = 'completed' AND NOT human) AS contained,
                             count(*) FILTER (WHERE status = 'transferred') AS transferred,
                             count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
                             count(*) FILTER (WHERE status = 'failed') AS failed,
                             count(*) FILTER (WHERE handled) AS handled,
                             coalesce(sum(duration_s) FILTER (WHERE handled), 0) AS handle_total_s,
                             count(polarity) AS scored,
                             count(*) FILTER (WHERE polarity = 'negative') AS negative
                      FROM {scope.name} GROUP BY ALL)
        SELECT b.period, b.flow, b.conversations, b.contained, b.transferred, b.abandoned, b.failed,
               coalesce(f.flagged, 0) AS flagged, b.handled, b.handle_total_s, b.scored, b.negative
        FROM base b LEFT JOIN flagged f USING (period, flow)
    """).pl()  # noqa: S608
    counts = ["conversations", "contained", "transferred", "abandoned", "failed", "flagged", "handled",
              "handle_total_s", "scored", "negative"]
    cur = per_flow.filter(pl.col("period") == "current").drop("period").sort(
        ["conversations", "flow"], descending=[True, False])
    old = per_flow.filter(pl.col("period") == "previous").select(
        "flow", pl.col("conversations").alias("previous_conversations"),
        pl.col("contained").alias("previous_contained"))
    cur = cur.with_columns(pl.lit(False).alias("other"))
    if cur.height > MAX_FLOWS:
        rest = cur.slice(MAX_FLOWS)
        other = {c: rest[c].sum() for c in counts}
        other.update({"flow": f"Other flows ({rest.height:,})", "other": True})
        cur = pl.concat([cur.head(MAX_FLOWS), pl.DataFrame([other], schema=cur.schema)])
        old_other = old.filter(pl.col("flow").is_in(rest["flow"].to_list()))
        old = pl.concat([
            old.filter(~pl.col("flow").is_in(rest["flow"].to_list())),
            pl.DataFrame([{"flow": other["flow"], "previous_conversations": old_other["previous_conversations"].sum(),
                           "previous_contained": old_other["previous_contained"].sum()}], schema=old.schema),
        ])
    out = cur.join(old, on="flow", how="left", maintain_order="left")
    if prev:
        out = out.with_columns(pl.col("previous_conversations").fill_null(0), pl.col("previous_contained").fill_null(0))
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Int64).alias("previous_conversations"),
                               pl.lit(None, dtype=pl.Int64).alias("previous_contained"))
    n = pl.col("conversations")
    return out.with_columns(
        (pl.col("contained") / n).alias("containment_rate"),
        (pl.col("transferred") / n).alias("transfer_rate"),
        (pl.col("abandoned") / n).alias("abandonment_rate"),
        (pl.col("failed") / n).alias("failure_rate"),
        (pl.col("flagged") / n).alias("flagged_rate"),
        pl.when(pl.col("handled") > 0).then(pl.col("handle_total_s") / pl.col("handled")).alias("handle_mean_s"),
        pl.when(pl.col("scored") > 0).then(pl.col("negative") / pl.col("scored")).alias("negative_rate"),
        pl.when(pl.col("previous_conversations") > 0)
        .then(pl.col("previous_contained") / pl.col("previous_conversations")).alias("previous_containment_rate"),
        pl.when(pl.col("previous_conversations") > 0)
        .then((n - pl.col("previous_conversations")) / pl.col("previous_conversations")).alias("change"),
    )


def _audio_section(lab: Workbench, scope: _Scope, prev: bool) -> pl.DataFrame | None:
    exists = lab.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audio_analyses'").scalar()
    if not exists:
        return None
    period_expr, join = scope.join("a")
    # The newest analysis of each conversation's recording counts (a re-analysis replaces it).
    figures = lab.execute(f"""
        WITH newest AS (
            SELECT {period_expr} AS period, a.status, a.latency_p50_ms, a.latency_p95_ms, a.dead_air_total_s,
                   a.dead_air_count, a.interruptions_agent
            FROM audio_analyses a {join}
            QUALIFY row_number() OVER (PARTITION BY a.conversation_id
                                       ORDER BY a.analysed_at DESC NULLS LAST) = 1
        )
        SELECT period, count(*) AS recordings_analysed,
               avg(latency_p50_ms) AS agent_latency_ms,
               avg(latency_p95_ms) AS agent_latency_p95_ms,
               avg(coalesce(dead_air_total_s, 0)) AS dead_air_per_call_s,
               avg(CASE WHEN coalesce(dead_air_count, 0) > 0 THEN 1.0 ELSE 0.0 END) AS dead_air_calls_rate,
               avg(interruptions_agent) AS interruptions_per_call
        FROM newest WHERE status = 'ok' GROUP BY ALL
    """).pl()  # noqa: S608
    cur, prv = _by_period(figures)
    if not cur or not cur.get("recordings_analysed"):
        return None
    previous = (prv or {"recordings_analysed": 0}) if prev else None
    return pl.DataFrame(_kpi_rows(AUDIO_KPIS, cur, previous, "audio"), schema=_KPI_SCHEMA)
