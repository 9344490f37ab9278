"""The report's charts as plotly figures (plain JSON-able dicts), shared by the page and the dashboard.

Each :class:`Chart` has a title, a one-line caption saying what it counts, axis titles
with units, and, for bar charts a click can open, the drill-down key of every bar
(``keys``, raw store values that never go into a published page: the page gets only the
figure, whose labels are scrubbed). Point counts are bounded by the report's caps and
its time buckets, so a chart's size does not grow with the store.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from convolab.reports.formatting import fmt_count, fmt_duration, fmt_rate
from convolab.reports.model import Report
from convolab.reports.privacy import scrub

__all__ = ["Chart", "build_charts"]

CURRENT = "#2f6fb5"
PREVIOUS = "#b7c3d0"
LINE_COLOURS = ["#2f6fb5", "#d9822b", "#3a9a5b", "#c23b3b", "#7a5cb8", "#8c6d4f", "#d45fa0", "#5f6b7a"]
_BUCKET_WORD = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}
_AXIS_DATE = {"day": "Day (UTC)", "week": "Week starting (UTC)", "month": "Month (UTC)",
              "quarter": "Quarter (UTC)", "year": "Year (UTC)"}


@dataclass
class Chart:
    """One chart: what it shows, the plotly figure, and what a click on a bar opens.

    Attributes
    ----------
    id
        Stable name (``volume``, ``statuses``, ...).
    section
        The report section it belongs to.
    title, caption
        Title, and one line saying what is counted.
    figure
        ``{"data": [...], "layout": {...}}`` for plotly.
    drill
        Drill-down kind of the bars (see :meth:`Report.drill`), or ``None``.
    keys
        Per trace, per point: the drill-down key (``None``: not clickable).
    """

    id: str
    section: str
    title: str
    caption: str
    figure: dict[str, Any]
    drill: str | None = None
    keys: list[list[Any]] = field(default_factory=list)


def _legend_rows(names: list[str], width: int = 560) -> int:
    """Rows a horizontal legend of these names takes in a chart about ``width`` pixels wide."""
    rows, used = 1, 0
    for name in names:
        w = 40 + 7 * len(name)
        if used and used + w > width:
            rows, used = rows + 1, 0
        used += w
    return rows


def _layout(title: str, *, x_title: str, y_title: str, height: int = 320, legend: list[str] | None = None,
            **extra: Any) -> dict[str, Any]:
    # The legend sits at the very bottom of the figure (container coordinates) and the bottom
    # margin grows with its rows, so it never lands on the x-axis title.
    rows = _legend_rows(legend) if legend else 0
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "height": height + 22 * rows,
        "margin": {"l": 60, "r": 20, "t": 48, "b": 60 + 22 * rows},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "showlegend": bool(legend),
        "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                   "xanchor": "left"},
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
                 "size": 12, "color": "#222"},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hoverlabel": {"namelength": -1},
        "bargap": 0.25,
    }
    for axis, settings in extra.pop("axes", {}).items():
        layout[axis].update(settings)
    layout.update(extra)
    for axis in ("xaxis", "yaxis"):
        layout[axis].setdefault("gridcolor", "#e6e6e6")
        layout[axis].setdefault("zerolinecolor", "#bbbbbb")
    return layout


def _iso(values: list[Any]) -> list[str]:
    return [v.isoformat() if isinstance(v, date) else str(v) for v in values]


def label(value: Any) -> str:
    """A store value as plotly text: scrubbed, and escaped (plotly reads tags such as ``<a>`` in text)."""
    return html.escape(scrub(value), quote=False)


def _unique(labels: list[str]) -> list[str]:
    """Plotly merges equal category labels; two flows scrubbed alike must stay two bars."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0) + 1
        seen[label] = n
        out.append(label if n == 1 else f"{label} ({n})")
    return out


def _share_bars(frame: pl.DataFrame, key: str, *, value: str, previous: str | None, has_previous: bool,
                title: str, x_title: str, counts: str | None, labels: list[str] | None = None,
                keys: list[Any] | None = None) -> tuple[dict[str, Any], list[list[Any]]]:
    """Horizontal bars of a share per label (largest on top), the previous period beside each."""
    labels = _unique(labels if labels is not None else [label(v) for v in frame[key].to_list()])
    values = frame[value].to_list()
    n_text = [fmt_count(v) for v in frame[counts].to_list()] if counts else [""] * len(values)
    current = {
        "type": "bar", "orientation": "h", "name": "This period", "y": labels, "x": values,
        "marker": {"color": CURRENT},
        "text": [fmt_rate(v) for v in values], "textposition": "outside", "cliponaxis": False,
        "customdata": n_text,
        "hovertemplate": "%{y}: %{x:.1%}" + (" (%{customdata})" if counts else "") + "<extra>This period</extra>",
    }
    data = [current]
    trace_keys: list[list[Any]] = [keys if keys is not None else frame[key].to_list()]
    if has_previous and previous is not None:
        data.append({
            "type": "bar", "orientation": "h", "name": "Previous period", "y": labels,
            "x": frame[previous].to_list(), "marker": {"color": PREVIOUS},
            "hovertemplate": "%{y}: %{x:.1%}<extra>Previous period</extra>",
        })
        trace_keys.append([None] * len(labels))
    top = max([v for v in values if v is not None] + [0.0]) or 0.01
    prev_top = max([v for v in (data[1]["x"] if len(data) > 1 else []) if v is not None] + [0.0])
    bars = len(labels) * (2 if len(data) > 1 else 1)
    layout = _layout(title, x_title=x_title, y_title="", height=min(110 + 22 * bars, 640),
                     legend=[d["name"] for d in data] if len(data) > 1 else None,
                     axes={"xaxis": {"tickformat": ".0%", "range": [0, max(top, prev_top) * 1.18], "rangemode": "tozero"},
                           "yaxis": {"autorange": "reversed", "title": {"text": ""}}},
                     barmode="group")
    layout["margin"]["l"] = 10
    return {"data": data, "layout": layout}, trace_keys


def build_charts(report: Report) -> list[Chart]:
    """Every chart of the report, in page order (sections without data get none)."""
    charts: list[Chart] = []
    period = report.period
    has_prev = period.has_previous
    word = _BUCKET_WORD[period.granularity]
    date_axis = _AXIS_DATE[period.granularity]
    vol = report.volume
    cur = vol.filter(pl.col("period") == "current")
    old = vol.filter(pl.col("period") == "previous")

    # Volume: bars per bucket, the previous period as a line shifted onto this one.
    data: list[dict[str, Any]] = [{
        "type": "bar", "name": "This period", "x": _iso(cur["bucket"].to_list()),
        "y": cur["conversations"].to_list(), "marker": {"color": CURRENT},
        "hovertemplate": "%{x}: %{y:,} conversations<extra>This period</extra>",
    }]
    keys: list[list[Any]] = [_iso(cur["bucket"].to_list())]
    if has_prev and old.height:
        data.append({
            "type": "scatter", "mode": "lines", "name": "Previous period (same position)",
            "x": _iso(old["x"].to_list()), "y": old["conversations"].to_list(),
            "line": {"color": "#8a97a6", "dash": "dot", "width": 2},
            "customdata": _iso(old["bucket"].to_list()),
            "hovertemplate": "%{customdata}: %{y:,} conversations<extra>Previous period</extra>",
        })
        keys.append([None] * old.height)
    charts.append(Chart(
        "volume", "volume", f"Conversations per {word}",
        f"Conversations that started each {word} (UTC)"
        + ("; the dotted line is the previous period, shifted to line up with this one." if len(data) > 1 else "."),
        {"data": data, "layout": _layout(f"Conversations per {word}", x_title=date_axis,
                                         y_title="Conversations",
                                         legend=[d["name"] for d in data] if len(data) > 1 else None,
                                         axes={"yaxis": {"rangemode": "tozero", "tickformat": ",d"}})},
        drill="bucket", keys=keys,
    ))

    # Outcomes over time.
    lines = [("contained_rate", "Contained"), ("transferred_rate", "Transferred"),
             ("abandoned_rate", "Abandoned"), ("failed_rate", "Failed")]
    data = [{
        "type": "scatter", "mode": "lines+markers" if cur.height <= 40 else "lines", "name": name,
        "x": _iso(cur["bucket"].to_list()), "y": cur[col].to_list(),
        "line": {"color": LINE_COLOURS[i], "width": 2}, "marker": {"size": 4},
        "hovertemplate": "%{x}: %{y:.1%}<extra>" + name + "</extra>",
    } for i, (col, name) in enumerate(lines)]
    charts.append(Chart(
        "outcomes", "outcomes", f"Outcomes per {word}",
        f"Share of each {word}'s conversations that were contained by the AI agent, transferred, "
        "abandoned or failed.",
        {"data": data, "layout": _layout(f"Outcomes per {word}", x_title=date_axis,
                                         y_title="Share of conversations", legend=[d["name"] for d in data],
                                         axes={"yaxis": {"tickformat": ".0%", "rangemode": "tozero"}})},
    ))

    statuses = report.statuses
    figure, keys = _share_bars(statuses, "status", value="share", previous="previous_share", has_previous=has_prev,
                               title="Status mix", x_title="Share of conversations", counts="conversations")
    charts.append(Chart("statuses", "outcomes", "Status mix",
                        "How conversations ended: share of all conversations in the period per status.",
                        figure, drill="status", keys=keys))

    # Handle time over time.
    handled = cur.filter(pl.col("handle_mean_s").is_not_null())
    charts.append(Chart(
        "handle_time", "outcomes", f"Average handle time per {word}",
        f"Mean duration of the conversations that ended, per {word} they started in (minutes).",
        {"data": [{
            "type": "scatter", "mode": "lines+markers" if handled.height <= 40 else "lines",
            "name": "Average handle time", "x": _iso(handled["bucket"].to_list()),
            "y": [round(v / 60, 3) for v in handled["handle_mean_s"].to_list()],
            "customdata": [fmt_duration(v) for v in handled["handle_mean_s"].to_list()],
            "line": {"color": CURRENT, "width": 2}, "marker": {"size": 4},
            "hovertemplate": "%{x}: %{customdata}<extra>Average handle time</extra>",
        }], "layout": _layout(f"Average handle time per {word}", x_title=date_axis,
                              y_title="Minutes",
                              axes={"yaxis": {"rangemode": "tozero"}})},
    ))

    # Customer sentiment.
    if report.sentiment is not None:
        figure, keys = _share_bars(report.sentiment, "polarity", value="share", previous="previous_share",
                                   has_previous=has_prev, title="Customer sentiment",
                                   x_title="Share of scored conversations", counts="conversations")
        charts.append(Chart("sentiment", "sentiment", "Customer sentiment",
                            "Overall polarity of each scored conversation's customer messages (latest "
                            "emotion model).", figure, drill="polarity", keys=keys))
    if report.sentiment_trend is not None and report.sentiment_trend.height:
        trend = report.sentiment_trend
        x = _iso(trend["bucket"].to_list())
        charts.append(Chart(
            "sentiment_trend", "sentiment", f"Negative customer sentiment per {word}",
            f"Share of each {word}'s scored conversations whose customer messages read negative overall.",
            {"data": [{
                "type": "scatter", "mode": "lines+markers" if trend.height <= 40 else "lines",
                "name": "Negative sentiment", "x": x, "y": trend["negative_share"].to_list(),
                "line": {"color": "#c23b3b", "width": 2}, "marker": {"size": 4},
                "customdata": [fmt_count(v) for v in trend["scored"].to_list()],
                "hovertemplate": "%{x}: %{y:.1%} of %{customdata} scored<extra></extra>",
            }], "layout": _layout(f"Negative customer sentiment per {word}", x_title=date_axis,
                                  y_title="Share of scored conversations",
                                  axes={"yaxis": {"tickformat": ".0%", "rangemode": "tozero"}})},
        ))
    if report.emotions is not None and report.emotions.height:
        figure, keys = _share_bars(report.emotions, "emotion", value="share", previous="previous_share",
                                   has_previous=has_prev, title="Top customer emotions",
                                   x_title="Share of scored conversations", counts="conversations")
        charts.append(Chart("emotions", "sentiment", "Top customer emotions",
                            "Share of scored conversations with the emotion among the customer's three "
                            "strongest (by mean score).", figure,
                            drill="emotion", keys=keys))

    # Review flags.
    flags = report.flags
    if flags.height:
        figure, keys = _share_bars(flags, "criterion", value="rate", previous="previous_rate", has_previous=has_prev,
                                   title="Conversations flagged, per criterion", x_title="Share of conversations",
                                   counts="conversations")
        charts.append(Chart("flags", "flags", "Conversations flagged, per criterion",
                            "Share of all conversations with a review flag of each criterion, whatever QA "
                            "decided.", figure, drill="criterion", keys=keys))
    trend = report.flag_trend
    if trend.height:
        # A heatmap, one row per criterion: a dozen lines over many days would be a tangle.
        present = set(trend["criterion"].to_list())
        criteria = [c for c in report.flags["criterion"].to_list() if c in present]  # most flagged first
        buckets = sorted(trend["bucket"].unique().to_list())
        rates = {(r["criterion"], r["bucket"]): r["rate"] for r in trend.to_dicts()}
        counts = {(r["criterion"], r["bucket"]): r["conversations"] for r in trend.to_dicts()}
        rows = _unique([label(c) for c in criteria])
        layout = _layout(f"Flag rate per {word}", x_title=date_axis, y_title="",
                         height=120 + 26 * len(criteria),
                         axes={"yaxis": {"autorange": "reversed", "showgrid": False},
                               "xaxis": {"showgrid": False}})
        layout["margin"]["l"] = 10
        charts.append(Chart(
            "flag_trend", "flags", f"Flag rate per {word}",
            f"Share of each {word}'s conversations flagged by each of the most frequent criteria "
            "(darker is more).",
            {"data": [{
                "type": "heatmap", "x": _iso(buckets), "y": rows,
                "z": [[rates.get((c, b)) for b in buckets] for c in criteria],
                "customdata": [[counts.get((c, b), 0) for b in buckets] for c in criteria],
                "colorscale": [[0, "#f3f7fc"], [1, "#1f4e8c"]], "zmin": 0, "xgap": 1, "ygap": 2,
                "colorbar": {"title": {"text": "Share", "side": "top"}, "tickformat": ".0%", "thickness": 12},
                "hovertemplate": "%{y}, %{x}: %{z:.1%} (%{customdata} conversations)<extra></extra>",
            }], "layout": layout},
        ))

    # Call reasons and functions.
    reasons = report.call_reasons
    if reasons.height:
        keys_raw = [None if other else r for r, other in zip(reasons["reason"], reasons["other"], strict=True)]
        figure, keys = _share_bars(reasons, "reason", value="share", previous="previous_share", has_previous=has_prev,
                                   title="Top call reasons", x_title="Share of conversations", counts="conversations",
                                   keys=keys_raw)
        charts.append(Chart("call_reasons", "reasons", "Top call reasons",
                            "Share of all conversations tagged with each call reason (tag call_reason).",
                            figure, drill="call_reason", keys=keys))
    functions = report.functions
    if functions.height:
        figure, keys = _share_bars(functions, "function", value="failure_rate", previous="previous_failure_rate",
                                   has_previous=has_prev, title="Function-call failure rate",
                                   x_title="Share of calls that returned an error", counts="calls")
        figure["data"][0]["hovertemplate"] = "%{y}: %{x:.1%} of %{customdata} calls<extra>This period</extra>"
        charts.append(Chart("functions", "functions", "Function-call failure rate",
                            "Share of each function's calls that returned an error (the most-called functions).",
                            figure,
                            drill="function", keys=keys))
    return charts

