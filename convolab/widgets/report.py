"""The manager report as ipywidgets: KPI tiles, plotly charts, period and filter controls, drill-down.

Views only: figures come from :func:`convolab.reports.build_report`, charts from
:func:`convolab.reports.charts.build_charts`, and the conversations behind a figure from
the store through :class:`~convolab.widgets.table.ConversationTable`, filtered by
:meth:`Report.drill`. Nothing here writes SQL.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date, timedelta
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from convolab.reports import build_report, list_flows, list_platforms
from convolab.reports.charts import Chart, build_charts
from convolab.reports.model import Report, store_days
from convolab.reports.publish import TILE_CSS, render_tiles
from convolab.store import ConversationFilter, Workbench
from convolab.widgets._html import esc
from convolab.widgets.page_store import PageStore, session
from convolab.widgets.table import ConversationTable

__all__ = ["KpiTiles", "ReportCharts", "ReportDashboard"]

_ANY = "(any)"
_PRESETS = (
    ("Everything in the store", "all"),
    ("Last 7 days", "7"),
    ("Last 30 days", "30"),
    ("Last 90 days", "90"),
    ("Custom (From / To)", "custom"),
)

# Shows the tiles' (already escaped) HTML; a click, or Enter/Space, on a tile reports its name.
_TILES_ESM = r"""
function render({ model, el }) {
  const draw = () => {
    el.innerHTML = model.get("value");
    el.querySelectorAll("[data-kpi]").forEach((t) => { t.tabIndex = 0; t.setAttribute("role", "button"); });
  };
  const pick = (event) => {
    const tile = event.target.closest("[data-kpi]");
    if (tile && el.contains(tile)) { model.send({ event: "kpi", name: tile.dataset.kpi }); return true; }
    return false;
  };
  const onKey = (event) => {
    if ((event.key === "Enter" || event.key === " ") && pick(event)) event.preventDefault();
  };
  draw();
  model.on("change:value", draw);
  el.addEventListener("click", pick);
  el.addEventListener("keydown", onKey);
  return () => { model.off("change:value", draw); el.removeEventListener("click", pick);
                 el.removeEventListener("keydown", onKey); };
}
export default { render };
"""

_STYLE = widgets.HTML(
    "<style>" + TILE_CSS + """
.cl-report-tiles [data-kpi] { cursor: pointer; }
.cl-report-tiles [data-kpi]:hover { border-color: #2f6fb5; box-shadow: 0 0 0 1px #2f6fb5 inset; }
.cl-report-summary p { margin: 2px 0; }
.cl-report-note { padding: 6px 10px; background: #fff8e1; border: 1px solid #f0d98c; border-radius: 6px;
  color: #5a4a00; margin: 4px 0; }
.cl-report-drill { font-size: 13px; }
.cl-report h3 { margin: 14px 0 6px; font-size: 16px; }
</style>"""
)


# Draws every chart of the report with one copy of plotly.js (a plotly FigureWidget per chart
# would send plotly's 5 MB widget bundle once per chart); a click on a point of a clickable
# chart reports which chart, trace and point. Captions are set as text, never as markup.
_CHARTS_ESM = r"""
function draw(Plotly, model, el) {
  el.querySelectorAll(".js-plotly-plot").forEach((d) => Plotly.purge(d));
  el.replaceChildren();
  for (const f of JSON.parse(model.get("figures"))) {
    const card = document.createElement("figure");
    card.className = "cl-report-chart";
    card.dataset.chart = f.id;
    const plot = document.createElement("div");
    const caption = document.createElement("figcaption");
    caption.textContent = f.caption;
    card.append(plot, caption);
    el.append(card);
    Plotly.newPlot(plot, f.figure.data, f.figure.layout,
                   {displayModeBar: false, responsive: true, typesetMath: false, displaylogo: false});
    if (f.clickable) {
      plot.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        if (point) model.send({ event: "click", chart: f.id, trace: point.curveNumber, point: point.pointIndex });
      });
    }
  }
}
function render({ model, el }) {
  const Plotly = window.__convolabPlotly;
  const redraw = () => draw(Plotly, model, el);
  redraw();
  // The widget may be drawn before it is on the page (zero width): resize once it has a size.
  const observer = new ResizeObserver(() => {
    el.querySelectorAll(".js-plotly-plot").forEach((d) => Plotly.Plots.resize(d));
  });
  observer.observe(el);
  model.on("change:figures", redraw);
  return () => {
    observer.disconnect();
    model.off("change:figures", redraw);
    el.querySelectorAll(".js-plotly-plot").forEach((d) => Plotly.purge(d));
  };
}
export default { render };
"""

_CHARTS_CSS = """
.cl-report-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 12px;
  width: 100%; }
.cl-report-chart { margin: 0; padding: 6px 8px; border: 1px solid #dde1e6; border-radius: 8px; background: #fff;
  min-width: 0; }
.cl-report-chart figcaption { font-size: 12px; color: #5b6470; padding: 2px 4px; }
"""


def _charts_esm() -> str:
    """plotly.js (from the installed plotly package) as a module prelude, then the view."""
    from plotly.offline import get_plotlyjs

    # plotly.js is a UMD bundle: give it a CommonJS `module` so it hands Plotly back.
    prelude = ("if (!window.__convolabPlotly) { window.__convolabPlotly = (() => {"
               " const module = { exports: {} }; const exports = module.exports;\n"
               + get_plotlyjs() + "\n; return module.exports; })(); }\n")
    return prelude + _CHARTS_ESM


class ReportCharts(anywidget.AnyWidget):
    """The report's charts, drawn by plotly.js in the browser.

    ``figures`` is a JSON list of ``{"id", "caption", "figure", "clickable"}``; a click on a
    point of a clickable chart comes back as ``{"event": "click", "chart", "trace", "point"}``.
    """

    _esm = _charts_esm()
    _css = _CHARTS_CSS
    figures = traitlets.Unicode("[]").tag(sync=True)


class KpiTiles(anywidget.AnyWidget):
    """KPI tiles as escaped HTML (``value``); a click on a tile comes back as ``{"event": "kpi", "name": ...}``."""

    _esm = _TILES_ESM
    value = traitlets.Unicode("").tag(sync=True)


class _DrillTable(ConversationTable):
    """The conversations table, plus the drill-down filters its controls cannot show."""

    def __init__(self, lab: Workbench, **kwargs: Any) -> None:
        self.extra: dict[str, Any] = {}
        super().__init__(lab, **kwargs)

    def filters(self) -> ConversationFilter:
        return replace(super().filters(), **self.extra)

    def show(self, wanted: ConversationFilter) -> None:
        """List exactly the conversations ``wanted`` describes, setting the controls it can."""
        controls: dict[str, widgets.Widget] = {
            "status": self.status, "flow": self.flow, "platform": self.platform, "flagged": self.flagged,
            "emotion": self.emotion, "since": self.since, "until": self.until,
        }
        extra: dict[str, Any] = {}
        settings: dict[widgets.Widget, Any] = {}
        for f in fields(ConversationFilter):
            value = getattr(wanted, f.name)
            if isinstance(value, (list, tuple)) and len(value) == 1 and f.name != "tag":
                value = value[0]  # one flow fits the dropdown
            control = controls.get(f.name)
            if control is None:
                if value is not None:
                    extra[f.name] = value
                continue
            if f.name in ("since", "until"):
                settings[control] = value
            elif value is None:
                settings[control] = _ANY if f.name != "emotion" or isinstance(control, widgets.Dropdown) else ""
            elif isinstance(control, widgets.Dropdown) and value not in [o[1] if isinstance(o, tuple) else o
                                                                          for o in control.options]:
                extra[f.name] = value  # e.g. several flows: filtered, not shown in the dropdown
                settings[control] = _ANY
            else:
                settings[control] = value
        self.search.value = ""
        self._quiet = True  # one refresh for all the controls
        try:
            for control, value in settings.items():
                control.value = value
        finally:
            self._quiet = False
        self.extra = extra
        self.page = 0
        self.refresh()


class ReportDashboard(widgets.VBox):
    """The manager report: period and filters, KPI tiles, charts, tables, and the conversations behind them.

    Click a KPI tile or a chart bar to list its conversations in the table below.

    Parameters
    ----------
    lab
        The open store (read-only is enough).
    since, until, flow, platform
        The initial period and filters (as for :func:`convolab.reports.build_report`).
    page_size
        Rows per page of the drill-down table.

    Attributes
    ----------
    report : Report
        The report on screen.
    """

    def __init__(self, lab: Workbench | PageStore, *, since: date | None = None, until: date | None = None,
                 flow: str | None = None, platform: str | None = None, page_size: int = 20) -> None:
        self.lab = lab
        self.report: Report | None = None
        self._charts: list[Chart] = []
        self._busy = False
        with session(lab) as opened:  # a dashboard's PageStore opens a file store for this read only
            self.first_day, self.last_day = store_days(opened)
            flows, platforms = list_flows(opened), list_platforms(opened)

        small = widgets.Layout(width="190px")
        dates = widgets.Layout(width="230px")
        self.preset = widgets.Dropdown(options=_PRESETS, value="custom" if since or until else "all",
                                       description="Period", layout=widgets.Layout(width="290px"))
        self.since = widgets.DatePicker(description="From", value=since, layout=dates)
        self.until = widgets.DatePicker(description="To", value=until, layout=dates)
        self.flow = widgets.Dropdown(options=[_ANY, *flows], value=flow or _ANY, description="Flow",
                                     layout=widgets.Layout(width="280px"))
        self.platform = widgets.Dropdown(options=[_ANY, *platforms], value=platform or _ANY,
                                         description="Platform", layout=small)
        for control in (self.preset, self.since, self.until, self.flow, self.platform):
            control.observe(self._on_control, "value")
        self.summary = widgets.HTML()
        self.summary.add_class("cl-report-summary")
        self.tiles = KpiTiles()
        self.tiles.add_class("cl-report-tiles")
        self.tiles.add_class("cl-report-headline")
        self.flag_tiles = KpiTiles()
        self.flag_tiles.add_class("cl-report-tiles")
        self.flag_tiles.add_class("cl-report-flag-tiles")
        self.audio = KpiTiles()
        self.audio.add_class("cl-report-tiles")
        for tiles in (self.tiles, self.flag_tiles, self.audio):
            tiles.on_msg(self._on_tile_msg)
        self.charts = ReportCharts(layout=widgets.Layout(width="100%"))
        self.charts.add_class("cl-report-charts")
        self.charts.on_msg(self._on_chart_msg)
        self.flows_table = widgets.HTML()
        self.drill_label = widgets.HTML()
        self.drill_label.add_class("cl-report-drill")
        self.table = _DrillTable(lab, page_size=page_size)
        self.table.add_class("cl-report-table")

        super().__init__([
            _STYLE,
            widgets.HBox([self.preset, self.since, self.until, self.flow, self.platform],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.summary,
            widgets.HTML("<h3>Headline figures</h3>"), self.tiles,
            widgets.HTML("<h3>Review flags per criterion</h3>"), self.flag_tiles,
            widgets.HTML("<h3>Charts</h3>"), self.charts,
            widgets.HTML("<h3>Call audio</h3>"), self.audio,
            widgets.HTML("<h3>Flows</h3>"), self.flows_table,
            widgets.HTML("<h3>Conversations</h3>"), self.drill_label, self.table,
        ])
        self.add_class("cl-report")
        self.refresh()

    # -- state -----------------------------------------------------------------------------

    def period(self) -> tuple[date | None, date | None]:
        """The (since, until) days the controls ask for."""
        preset = self.preset.value
        if preset == "all" or self.last_day is None:
            return None, None
        if preset == "custom":
            return self.since.value, self.until.value
        days = int(preset)
        return self.last_day - timedelta(days=days - 1), self.last_day

    # -- actions ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild the report for the controls' period and filters, and list its conversations."""
        since, until = self.period()
        flow = None if self.flow.value == _ANY else self.flow.value
        platform = None if self.platform.value == _ANY else self.platform.value
        try:
            with session(self.lab) as lab:
                report = build_report(lab, since=since, until=until, flow=flow, platform=platform)
        except ValueError as exc:  # e.g. From after To: say so, keep the last report on screen
            self.summary.value = f'<p class="cl-report-note">{esc(exc)}</p>'
            return
        self.report = report
        if self.preset.value != "custom":
            self._set_quietly({self.since: report.period.start if since else None,
                               self.until: report.period.end if until else None})
        p = report.period
        notes = "".join(f'<p class="cl-report-note">{esc(n)}</p>' for k, n in report.notes.items()
                        if k in ("previous", "sentiment", "flags"))
        compared = esc(p.previous_label()) if p.has_previous else "not compared"
        self.summary.value = (
            f"<p>Period: <b>{esc(p.label())}</b> · compared with: <b>{compared}</b> · "
            f"{report.total:,} conversations</p>{notes}"
        )
        headline = report.kpis.filter(report.kpis["section"] == "headline")
        flags = report.kpis.filter(report.kpis["section"] == "flags")
        self.tiles.value = render_tiles(headline, has_previous=p.has_previous)
        self.flag_tiles.value = render_tiles(flags, has_previous=p.has_previous, small=True) or (
            f'<p class="cl-report-note">{esc(report.notes.get("flags", ""))}</p>')
        self.audio.value = render_tiles(report.audio, has_previous=p.has_previous) or (
            f'<p class="cl-report-note">{esc(report.notes.get("audio", "No recordings analysed."))}</p>')
        self._draw_charts(report)
        self.flows_table.value = _flows_html(report)
        self.drill("kpi", "conversations")

    def drill(self, kind: str, key: Any) -> bool:
        """List the conversations behind a figure (see :meth:`Report.drill`); ``False`` if none can be."""
        if self.report is None:
            return False
        wanted = self.report.drill(kind, key)
        if wanted is None:
            return False
        self.table.show(wanted)
        r = self.report
        scope = [r.period.label() if not r.period.everything else "everything in the store"]
        if r.flow:
            scope.append("flow " + ", ".join(r.flow))
        if r.platform:
            scope.append(f"platform {r.platform}")
        self.drill_label.value = (
            f"<p>Showing the conversations behind <b>{esc(_describe(r, kind, key))}</b> "
            f"({self.table.total:,}; {esc(' · '.join(scope))}). "
            "Change the table's filters to narrow them further.</p>"
        )
        return True

    # -- events ----------------------------------------------------------------------------

    def _set_quietly(self, values: dict[widgets.Widget, Any]) -> None:
        self._busy = True
        try:
            for control, value in values.items():
                control.value = value
        finally:
            self._busy = False

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        if change["owner"] in (self.since, self.until) and self.preset.value != "custom":
            self._set_quietly({self.preset: "custom"})
        self.refresh()

    def _on_tile_msg(self, _view: Any, content: Any, _buffers: Any) -> None:
        """A tile click in the browser; names not in the report on screen are ignored."""
        if not isinstance(content, dict) or content.get("event") != "kpi" or self.report is None:
            return
        name = content.get("name")
        names = set(self.report.kpis["name"].to_list())
        if isinstance(name, str) and name in names:
            self.drill("kpi", name)

    def _draw_charts(self, report: Report) -> None:
        self._charts = build_charts(report)
        self.charts.figures = json.dumps([
            {"id": c.id, "figure": c.figure, "clickable": c.drill is not None,
             "caption": c.caption + (" Click a bar to list its conversations." if c.drill else "")}
            for c in self._charts
        ], default=str, allow_nan=False)

    def _on_chart_msg(self, _view: Any, content: Any, _buffers: Any) -> None:
        """A click on a chart point; anything that is not a known chart's clickable point is ignored."""
        if not isinstance(content, dict) or content.get("event") != "click":
            return
        chart = next((c for c in self._charts if c.id == content.get("chart")), None)
        trace, point = content.get("trace"), content.get("point")
        if chart is None or chart.drill is None or not isinstance(trace, int) or not isinstance(point, int):
            return
        if 0 <= trace < len(chart.keys) and 0 <= point < len(chart.keys[trace]):
            key = chart.keys[trace][point]
            if key is not None:
                self.drill(chart.drill, key)


def _describe(report: Report, kind: str, key: Any) -> str:
    if kind == "kpi":
        rows = report.kpis.filter(report.kpis["name"] == key)
        return rows["label"][0] if rows.height else str(key)
    words = {"status": "status", "flow": "flow", "criterion": "flag", "call_reason": "call reason",
             "function": "failed calls of", "emotion": "emotion", "polarity": "sentiment", "bucket": "period from"}
    return f"{words.get(kind, kind)}: {key}"


def _flows_html(report: Report) -> str:
    from convolab.reports.formatting import fmt_count, fmt_duration, fmt_rate

    rows = []
    for r in report.flows.to_dicts():
        rows.append(
            f"<tr><td>{esc(r['flow'])}</td><td class='num'>{esc(fmt_count(r['conversations']))}</td>"
            f"<td class='num'>{esc(fmt_rate(r['containment_rate']))}</td>"
            f"<td class='num'>{esc(fmt_rate(r['transfer_rate']))}</td>"
            f"<td class='num'>{esc(fmt_rate(r['abandonment_rate']))}</td>"
            f"<td class='num'>{esc(fmt_rate(r['failure_rate']))}</td>"
            f"<td class='num'>{esc(fmt_duration(r['handle_mean_s']))}</td>"
            f"<td class='num'>{esc(fmt_rate(r['flagged_rate']))}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("Flow", "Conversations", "Contained", "Transferred", "Abandoned",
                                              "Failed", "Avg handle time", "Flagged"))
    return ("<style>.cl-flows td,.cl-flows th{padding:3px 8px;border-bottom:1px solid #e3e6ea;text-align:left}"
            ".cl-flows td.num{text-align:right;font-variant-numeric:tabular-nums}</style>"
            f"<table class='cl-flows'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
