"""Publishing a report: one self-contained HTML file, or a PDF of it printed by headless chromium.

The page needs nothing but itself: plotly.js (from the installed ``plotly`` package, one
copy) and the styles are inline, the chart data is one JSON block, and the page makes no
request of any kind, so it opens from a mail attachment on a machine without network.

Only aggregated figures are published. Labels that come from the store (flows, call
reasons, function and criterion names, conversation ids of examples) are scrubbed of
anything that looks like an email address or a phone number (:mod:`convolab.reports.privacy`)
and HTML-escaped; chart data is escaped for its ``<script>`` block. The page's size is
bounded by the report's caps (flows, reasons, functions, criteria) and its time buckets,
not by the store: about 4.8 MB of it is plotly.js.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from convolab.errors import ConvolabError, MissingExtra
from convolab.reports.charts import Chart, build_charts
from convolab.reports.definitions import CONTAINMENT
from convolab.reports.formatting import (
    fmt_change,
    fmt_count,
    fmt_duration,
    fmt_rate,
    fmt_value,
    trend_class,
)
from convolab.reports.model import Report
from convolab.reports.privacy import safe_id, scrub

__all__ = ["FORMATS", "TILE_CSS", "print_pdf", "render_html", "render_tiles", "write_report"]

FORMATS = ("html", "pdf")
CHROMIUM = "/usr/bin/chromium"
#: Seconds headless chromium may take to print a report.
PRINT_TIMEOUT_S = 120

_SECTION_TITLES = {
    "volume": "Volume and outcomes",
    "sentiment": "Customer sentiment",
    "flags": "Review flags and QA",
    "reasons": "Call reasons",
    "functions": "Function calls",
    "flows": "Flows",
    "audio": "Call audio",
}


def esc(value: Any) -> str:
    """HTML-escape anything (``None`` -> empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def _label(value: Any) -> str:
    """A store value as page text: scrubbed of contact details, then escaped."""
    return esc(scrub(value))


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise MissingExtra("plotly", "widgets") from exc
    js = get_plotlyjs()
    # An inline script ends at the first "</script"; plotly.js has none, but never trust that.
    return js.replace("</script", "<\\/script")


def _json_for_script(document: Any) -> str:
    """JSON that cannot end its ``<script>`` block or open markup, whatever the labels say."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _clean(document: Any) -> Any:
    """NaN/inf -> None, so the chart JSON is strict."""
    if isinstance(document, float):
        return None if document != document or document in (float("inf"), float("-inf")) else document
    if isinstance(document, dict):
        return {k: _clean(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_clean(v) for v in document]
    return document


# -- pieces of the page -------------------------------------------------------------------------


def _raw(value: Any) -> str:
    """The machine-readable value of a tile: the raw, unrounded number ('' when unknown)."""
    if value is None:
        return ""
    f = float(value)
    if f != f:
        return ""
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


def _tile(row: dict[str, Any], *, small: bool = False, has_previous: bool = False) -> str:
    unit, value = row["unit"], row["value"]
    change = row["change"]
    cls = trend_class(change, row["better"], unit)
    delta = fmt_change(unit, change)
    if row["previous"] is not None:
        prev = (f'<div class="kpi-prev"><span class="chg chg-{cls}">{esc(delta or "±0")}</span>'
                f' vs {esc(fmt_value(unit, row["previous"]))} before</div>')
    elif has_previous:
        prev = '<div class="kpi-prev">vs – before</div>'
    else:  # the page says once, at the top, that nothing is compared
        prev = ""
    return (
        f'<div class="kpi{" kpi-small" if small else ""}" data-kpi="{esc(scrub(row["name"], limit=90))}"'
        f' data-value="{esc(_raw(value))}">'
        f'<div class="kpi-label">{_label(row["label"])}</div>'
        f'<div class="kpi-value">{esc(fmt_value(unit, value))}</div>'
        f"{prev}"
        f'<div class="kpi-counts">{esc(scrub(row["counts"], limit=240))}</div>'
        "</div>"
    )


def render_tiles(frame: pl.DataFrame | None, *, has_previous: bool, small: bool = False) -> str:
    """KPI tiles (styles: :data:`TILE_CSS`), each with ``data-kpi`` and ``data-value``."""
    if frame is None or frame.height == 0:
        return ""
    return (f'<div class="kpis{" kpis-small" if small else ""}">'
            + "".join(_tile(r, small=small, has_previous=has_previous) for r in frame.to_dicts()) + "</div>")


def _chart(chart: Chart) -> str:
    return (
        f'<figure class="card chart-card"><div class="chart" id="chart-{esc(chart.id)}" role="img"'
        f' aria-label="{esc(chart.title)}"></div>'
        f"<figcaption>{esc(chart.caption)}</figcaption></figure>"
    )


def _table(headers: list[tuple[str, str]], rows: list[list[str]], caption: str) -> str:
    """``headers``: (label, css class); cells are already escaped HTML."""
    head = "".join(f'<th class="{c}">{esc(h)}</th>' for h, c in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{headers[i][1]}">{cell}</td>' for i, cell in enumerate(r)) + "</tr>"
        for r in rows
    )
    return (f'<div class="card table-card"><div class="table-wrap"><table><caption>{esc(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></div>")


def _delta_cell(unit: str, change: Any, better: str) -> str:
    text = fmt_change(unit, change)
    return f'<span class="chg chg-{trend_class(change, better, unit)}">{esc(text)}</span>' if text else ""


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _flag_table(report: Report) -> str:
    prev = report.period.has_previous
    headers = [("Criterion", "txt"), ("Flagged", "num"), ("Rate", "num")]
    if prev:
        headers += [("Previous", "num"), ("Change", "num")]
    headers += [("Reviewed", "num"), ("Coverage", "num"), ("Confirmed", "num"), ("Confirm rate", "num"),
                ("Examples (conversation ids)", "txt ids")]
    rows = []
    for r in report.flags.to_dicts():
        row = [_label(r["criterion"]), esc(fmt_count(r["conversations"])), esc(fmt_rate(r["rate"]))]
        if prev:
            row += [esc(fmt_rate(r["previous_rate"])), _delta_cell("rate", r["change"], "lower")]
        ids = [i for i in (safe_id(x) for x in r["examples"] or []) if i]
        row += [esc(fmt_count(r["reviewed"])), esc(fmt_rate(r["coverage"])), esc(fmt_count(r["confirmed"])),
                esc(fmt_rate(r["confirm_rate"])), esc(", ".join(ids))]
        rows.append(row)
    return _table(headers, rows, "Per criterion: conversations flagged, share of all conversations, how many "
                                 "flags QA reviewed (coverage) and how many of those it confirmed.")


def _function_table(report: Report) -> str:
    prev = report.period.has_previous
    headers = [("Function", "txt"), ("Calls", "num"), ("Failed", "num"), ("Failure rate", "num")]
    if prev:
        headers += [("Previous", "num"), ("Change", "num")]
    rows = []
    for r in report.functions.to_dicts():
        row = [_label(r["function"]), esc(fmt_count(r["calls"])), esc(fmt_count(r["failed"])),
               esc(fmt_rate(r["failure_rate"]))]
        if prev:
            row += [esc(fmt_rate(r["previous_failure_rate"])), _delta_cell("rate", r["change"], "lower")]
        rows.append(row)
    return _table(headers, rows, "Calls of each function (the most-called) and the share that returned an error.")


def _flow_table(report: Report) -> str:
    prev = report.period.has_previous
    headers = [("Flow", "txt"), ("Conversations", "num")]
    if prev:
        headers += [("Change", "num")]
    headers += [("Contained", "num"), ("Transferred", "num"), ("Abandoned", "num"), ("Failed", "num"),
                ("Avg handle time", "num"), ("Flagged", "num"), ("Negative sentiment", "num")]
    rows = []
    for r in report.flows.to_dicts():
        row = [_label(r["flow"]), esc(fmt_count(r["conversations"]))]
        if prev:
            row += [_delta_cell("count", r["change"], "")]
        row += [esc(fmt_rate(r["containment_rate"])), esc(fmt_rate(r["transfer_rate"])),
                esc(fmt_rate(r["abandonment_rate"])), esc(fmt_rate(r["failure_rate"])),
                esc(fmt_duration(r["handle_mean_s"])), esc(fmt_rate(r["flagged_rate"])),
                esc(fmt_rate(r["negative_rate"]))]
        rows.append(row)
    return _table(headers, rows, "Per flow (the busiest): conversations and the share of them with each outcome; "
                                 "rates are shares of the flow's conversations.")


def _arc_table(report: Report) -> str:
    if report.sentiment_arc is None or report.sentiment_arc.height == 0:
        return ""
    prev = report.period.has_previous
    words = {"improved": "Improved", "worsened": "Worsened", "unchanged": "Unchanged"}
    headers = [("Within the conversation, sentiment…", "txt"), ("Conversations", "num"), ("Share", "num")]
    if prev:
        headers += [("Previous", "num"), ("Change", "num")]
    rows = []
    for r in report.sentiment_arc.to_dicts():
        better = {"improved": "higher", "worsened": "lower"}.get(r["arc"], "")
        row = [esc(words.get(r["arc"], scrub(r["arc"]))), esc(fmt_count(r["conversations"])), esc(fmt_rate(r["share"]))]
        if prev:
            row += [esc(fmt_rate(r["previous_share"])), _delta_cell("rate", r["change"], better)]
        rows.append(row)
    return _table(headers, rows, "How the customer's sentiment moved from the first third of their messages "
                                 "to the last third (scored conversations).")


def _definitions(report: Report) -> str:
    items = []
    rows = report.kpis.to_dicts() + (report.audio.to_dicts() if report.audio is not None else [])
    seen = set()
    for r in rows:
        if r["section"] == "flags":
            continue
        seen.add(r["name"])
        items.append(f"<dt>{_label(r['label'])}</dt><dd>{esc(r['counts'])}</dd>")
    items.append("<dt>Flag rate per criterion</dt><dd>Share of all conversations with a review flag of that "
                 "criterion (one per conversation), whether QA later confirmed or dismissed it.</dd>")
    items.append(f"<dt>Contained</dt><dd>{esc(CONTAINMENT[0].upper() + CONTAINMENT[1:])}.</dd>")
    items.append("<dt>Period</dt><dd>A conversation counts in the period when it started on one of its days "
                 "(UTC). The previous period has the same number of days and ends the day before.</dd>")
    items.append("<dt>Changes</dt><dd>Shares change in percentage points (pp), counts in per cent, times in "
                 "seconds; green is better, red worse.</dd>")
    items.append("<dt>Emotions</dt><dd>Scores of the latest emotion-scoring run's model only"
                 + (f" ({esc(scrub(report.emotion_model, limit=80))})" if report.emotion_model else "")
                 + "; unscored conversations are left out of sentiment shares.</dd>")
    items.append("<dt>Privacy</dt><dd>Only aggregated figures are published; conversations are referred to by "
                 "id. Labels that look like a phone number or an email address are shown as [redacted].</dd>")
    return f'<dl class="defs">{"".join(items)}</dl>'


TILE_CSS = """
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.kpi { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 10px 12px;
  display: flex; flex-direction: column; gap: 2px; min-width: 0; color: #1f2328;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.kpi-label { font-size: 12px; font-weight: 600; color: #5b6470; text-transform: uppercase;
  letter-spacing: .02em; overflow-wrap: anywhere; line-height: 1.3; }
.kpi-value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.kpi-prev { font-size: 12px; color: #5b6470; font-variant-numeric: tabular-nums; }
.kpi-counts { font-size: 11.5px; color: #5b6470; margin-top: 4px; line-height: 1.35; }
.kpis-small { grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; }
.kpi-small .kpi-value { font-size: 20px; }
.kpi-small .kpi-counts { display: none; }
.chg { font-weight: 600; white-space: nowrap; }
.chg-good { color: #1a7f37; } .chg-bad { color: #c0392b; } .chg-flat { color: #5b6470; }
"""

_PAGE_CSS = """
:root { --ink:#1f2328; --muted:#5b6470; --line:#dde1e6; --bg:#f4f6f8; --card:#fff; --blue:#2f6fb5;
  --good:#1a7f37; --bad:#c0392b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); }
main { max-width: 1440px; margin: 0 auto; padding: 20px 24px 40px; }
header.top { background: var(--card); border-bottom: 1px solid var(--line); }
header.top .inner { max-width: 1440px; margin: 0 auto; padding: 16px 24px 12px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
.meta { margin: 2px 0; color: var(--muted); }
.meta b { color: var(--ink); font-weight: 600; }
.note { margin: 6px 0 12px; padding: 8px 12px; background: #fff8e1; border: 1px solid #f0d98c;
  border-radius: 6px; color: #5a4a00; }
.lead { color: var(--muted); margin: 0 0 10px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px;
  margin-top: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 0; }
.chart-card { padding: 8px 10px 10px; min-width: 0; }
.chart { width: 100%; min-height: 200px; }
figcaption { font-size: 12px; color: var(--muted); padding: 2px 4px 0; }
.table-card { margin-top: 12px; padding: 6px 0 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; padding: 4px 12px 8px; color: var(--muted); font-size: 12px; }
th, td { padding: 5px 10px; border-top: 1px solid var(--line); vertical-align: top; }
th { background: #f7f8fa; font-weight: 600; text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.ids { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
.defs { display: grid; grid-template-columns: minmax(160px, 240px) 1fr; gap: 4px 16px; margin: 0;
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.defs dt { font-weight: 600; } .defs dd { margin: 0; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  header.top { border: 0; } header.top .inner, main { max-width: none; padding: 0; }
  h2 { margin-top: 16px; break-after: avoid; }
  .kpis { grid-template-columns: repeat(4, 1fr); gap: 6px; }
  .kpis-small { grid-template-columns: repeat(4, 1fr); }
  .kpi { padding: 6px 8px; break-inside: avoid; }
  .kpi-value { font-size: 18px; } .kpi-counts { font-size: 9.5px; }
  .charts { grid-template-columns: 1fr; gap: 8px; }
  .chart-card, .table-card, tr, .defs { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 10px; } th, td { padding: 3px 6px; }
  .defs { grid-template-columns: 150px 1fr; font-size: 10px; }
}
"""
_CSS = TILE_CSS + _PAGE_CSS

# Draws every chart from the JSON block; before printing, charts take the printed width
# (A4 minus margins), and take the window's width again afterwards.
_SCRIPT = """
(function () {
  var figures = JSON.parse(document.getElementById("cl-figures").textContent);
  var config = {displayModeBar: false, responsive: true, typesetMath: false, showLink: false,
                showSendToCloud: false, showEditInChartStudio: false, displaylogo: false};
  var charts = [];
  Object.keys(figures).forEach(function (id) {
    var el = document.getElementById("chart-" + id);
    if (!el) return;
    Plotly.newPlot(el, figures[id].data, figures[id].layout, config);
    charts.push(el);
  });
  var PRINT_WIDTH = 680;
  function toPrint() { charts.forEach(function (el) { Plotly.relayout(el, {width: PRINT_WIDTH}); }); }
  function toScreen() { charts.forEach(function (el) { Plotly.relayout(el, {width: null, autosize: true}); }); }
  window.addEventListener("beforeprint", toPrint);
  window.addEventListener("afterprint", toScreen);
  document.documentElement.setAttribute("data-charts", String(charts.length));
})();
"""


def render_html(report: Report, *, title: str = "Conversation report") -> str:
    """The report as one self-contained HTML page (plotly.js, styles and data inline).

    Parameters
    ----------
    report
        From :func:`convolab.reports.build_report`.
    title
        The page's title.

    Returns
    -------
    str
        The page. Each headline figure is a tile with ``data-kpi`` (its name) and
        ``data-value`` (the raw number; rates as fractions; empty when unknown).
    """
    period = report.period
    charts = build_charts(report)
    by_section: dict[str, list[Chart]] = {}
    for chart in charts:
        by_section.setdefault(chart.section, []).append(chart)

    def chart_grid(*sections: str) -> str:
        items = [c for s in sections for c in by_section.get(s, [])]
        return f'<div class="charts">{"".join(_chart(c) for c in items)}</div>' if items else ""

    flows = ", ".join(_label(f) for f in report.flow) if report.flow else "all flows"
    platform = _label(report.platform) if report.platform else "all platforms"
    compared = (f"<b>{esc(period.previous_label())}</b>" if period.has_previous
                else esc("not compared (no start day chosen: everything in the store)"))
    kpis = report.kpis
    headline = kpis.filter(pl.col("section") == "headline")
    flag_tiles = kpis.filter(pl.col("section") == "flags")
    notes = report.notes
    total = report.total

    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        # Nothing may leave the page: no fetches, frames or external scripts, only itself.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; "
        "font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'\">",
        f"<title>{esc(title)} · {esc(period.label())}</title>",
        f"<style>{_CSS}</style>",
        f"<script>{_plotly_js()}</script>",
        "</head><body>",
        '<header class="top"><div class="inner">',
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">Period: <b>{esc(period.label())}</b> · Flow: <b>{flows}</b> · Platform: <b>{platform}</b></p>',
        f'<p class="meta">Compared with the previous period: {compared}</p>',
        f'<p class="meta">Generated {esc(report.generated_at.strftime("%Y-%m-%d %H:%M"))} UTC · '
        f"{esc(fmt_count(total))} conversations in the period · times in UTC</p>",
        "</div></header><main>",
    ]
    if "previous" in notes:
        parts.append(_note(notes["previous"]))
    if total == 0:
        parts.append(_note("No conversations match this period and these filters."))
    parts += [
        "<section id=\"headline\"><h2>Headline figures</h2>",
        '<p class="lead">Rates are shares of all conversations in the period. '
        "Each figure says in one line what it counts.</p>",
        render_tiles(headline, has_previous=period.has_previous),
        "</section>",
        f'<section id="volume"><h2>{_SECTION_TITLES["volume"]}</h2>',
        chart_grid("volume", "outcomes"),
        "</section>",
        f'<section id="sentiment"><h2>{_SECTION_TITLES["sentiment"]}</h2>',
    ]
    if "sentiment" in notes:
        parts.append(_note(notes["sentiment"]))
    else:
        scored = report.sentiment["conversations"].sum() if report.sentiment is not None else 0
        parts.append(f'<p class="lead">{esc(fmt_count(scored))} of {esc(fmt_count(total))} conversations '
                     "have emotion scores.</p>")
        parts.append(chart_grid("sentiment"))
        parts.append(_arc_table(report))
    parts += ["</section>", f'<section id="flags"><h2>{_SECTION_TITLES["flags"]}</h2>']
    if "flags" in notes:
        parts.append(_note(notes["flags"]))
    else:
        parts += ['<p class="lead">Share of all conversations flagged for each criterion.</p>',
                  render_tiles(flag_tiles, small=True, has_previous=period.has_previous), chart_grid("flags"), _flag_table(report)]
    parts += ["</section>", f'<section id="reasons"><h2>{_SECTION_TITLES["reasons"]}</h2>']
    if report.call_reasons.height:
        parts.append(chart_grid("reasons"))
    else:
        parts.append(_note("No conversation in the period has a call_reason tag."))
    parts += ["</section>", f'<section id="functions"><h2>{_SECTION_TITLES["functions"]}</h2>']
    if report.functions.height:
        parts += [chart_grid("functions"), _function_table(report)]
    else:
        parts.append(_note("No function calls in the period."))
    parts += ["</section>", f'<section id="flows"><h2>{_SECTION_TITLES["flows"]}</h2>']
    parts.append(_flow_table(report) if report.flows.height else _note("No conversations in the period."))
    parts += ["</section>", f'<section id="audio"><h2>{_SECTION_TITLES["audio"]}</h2>']
    if report.audio is None:
        parts.append(_note(notes.get("audio", "No recordings analysed.")))
    else:
        parts.append(render_tiles(report.audio, has_previous=period.has_previous))
    parts += [
        "</section>",
        '<section id="definitions"><h2>How these figures are counted</h2>',
        _definitions(report),
        "</section>",
        '<footer>Made by convolab from the conversation store. Aggregated figures only; '
        "no contact details.</footer>",
        "</main>",
        f'<script type="application/json" id="cl-figures">'
        f"{_json_for_script(_clean({c.id: c.figure for c in charts}))}</script>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_report(report: Report, out: str | os.PathLike[str], *, format: str | None = None,  # noqa: A002
                 chromium: str | None = None) -> Path:
    """Write the report to ``out`` as HTML or PDF (default: from the file's suffix, else HTML).

    Returns the path written. A PDF is the same page printed on A4 by headless chromium.
    """
    out = Path(out)
    fmt = (format or (out.suffix.lstrip(".").lower() if out.suffix.lower() in (".html", ".htm", ".pdf")
                      else "html")).lower()
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise ConvolabError(f"--format must be html or pdf, got {format!r}")
    if not out.parent.exists():
        raise ConvolabError(f"cannot write {out}: folder {out.parent} does not exist")
    page = render_html(report)
    if fmt == "html":
        _atomic_write(out, page.encode("utf-8"))
        return out
    with tempfile.TemporaryDirectory(prefix="convolab-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        print_pdf(source, pdf, chromium=chromium)
        _atomic_write(out, pdf.read_bytes())
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    """Write next to ``path`` and rename, so a failed write never leaves half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConvolabError(f"cannot write {path}: {exc.strerror or exc}") from exc


def print_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
              timeout: float = PRINT_TIMEOUT_S) -> Path:
    """Print an HTML file to an A4 PDF with headless chromium (no network, no header/footer).

    Chromium gets its own throw-away profile, so prints can run side by side and nothing
    of the user's profile is touched. Its D-Bus complaints on stderr are expected in
    containers and ignored.
    """
    exe = chromium or shutil.which("chromium") or CHROMIUM
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise ConvolabError(f"PDF output needs chromium ({exe} not found): apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="convolab-chromium-") as profile:
        command = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-pdf-header-footer", "--no-first-run", "--disable-extensions", "--disable-sync",
            f"--user-data-dir={profile}", "--window-size=1280,900",
            f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConvolabError(f"chromium did not print the report within {timeout:.0f} s") from None
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip() and "dbus" not in ln.lower()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise ConvolabError(f"chromium could not print the report to PDF: {reason}")
    return pdf_path

