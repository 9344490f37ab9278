"""Escaping and HTML rendering helpers shared by the table and the detail view.

Every piece of conversation text (transcripts, tags, contacts, function
outputs, summaries) is untrusted: it comes from customers and from external
systems. Everything that reaches an ``ipywidgets.HTML`` goes through
:func:`esc` first, so ``<script>`` or ``<img onerror=...>`` shows as text.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime
from typing import Any

from convolab.conversations import PLATFORM_ICONS

__all__ = ["ROW_ATTRS", "download_link", "esc", "fmt_duration", "fmt_time", "fmt_value", "render_table"]

#: Attributes of every row after its ``data-id``: focusable, so a keyboard opens rows too.
ROW_ATTRS = 'tabindex="0"'

#: Header label -> (column in the page frame, sort key understood by list_conversations).
TABLE_HEADERS: tuple[tuple[str, str, str | None], ...] = (
    ("ID", "id", "id"),
    ("Flow", "flow", "flow"),
    ("Platform", "platform", "platform"),
    ("Contact", "contact", "contact"),
    ("Status", "status", "status"),
    ("Duration", "duration_s", "duration"),
    ("Last Message", "last_message", "last_message"),
    ("Date", "date", "date"),
    ("Flagged", "flagged", "flagged"),
    ("Functions", "functions", "functions"),
    ("Tags", "tags", None),
)


def esc(value: Any) -> str:
    """HTML-escape any value (``None`` -> empty), quotes included for attribute safety."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def fmt_duration(seconds: Any) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a number of seconds; empty when unknown."""
    if seconds is None:
        return ""
    s = int(round(float(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_time(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC, as stored)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def fmt_value(value: Any) -> str:
    """Compact text for a function argument/output (JSON for containers). Not escaped."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _kv(items: Any, sep: str = "<br>") -> str:
    """``key: value`` pairs from a list of {key, value} structs or a dict, escaped."""
    if not items:
        return ""
    pairs = items.items() if isinstance(items, dict) else ((i["key"], i["value"]) for i in items)
    return sep.join(f"<b>{esc(k)}</b>: {esc(v)}" for k, v in pairs)


def render_table(rows: list[dict[str, Any]], *, sort: str, descending: bool, selected: str | None = None) -> str:
    """One page of conversations as a single escaped HTML table.

    Parameters
    ----------
    rows
        Page rows as returned by ``Workbench.list_conversations(...).to_dicts()``.
    sort, descending
        The active sort, shown as an arrow (▲ ascending, ▼ descending) on its header.
        Sortable headers carry ``data-sort`` (the sort key); the table view turns a
        click on one into a sort request.
    selected
        The id of the highlighted row, if any.
    """
    arrow = " ▼" if descending else " ▲"

    def th(label: str, col: str, key: str | None) -> str:
        if key is None:
            return f'<th data-col="{esc(col)}">{esc(label)}</th>'
        active = key == sort
        state = ("descending" if descending else "ascending") if active else "none"
        return (
            f'<th data-col="{esc(col)}" data-sort="{esc(key)}" aria-sort="{state}" tabindex="0"'
            f' title="Sort by {esc(label)}">{esc(label)}{arrow if active else ""}</th>'
        )

    head = "".join(th(label, col, key) for label, col, key in TABLE_HEADERS)
    body: list[str] = []
    for r in rows:
        cls = ' class="cl-selected"' if selected is not None and r["id"] == selected else ""
        cells = [
            esc(r["id"]),
            esc(r["flow"]),
            f'<span title="{esc(r["platform"])}">{esc(PLATFORM_ICONS.get(r["platform"] or "", r["platform"]))}</span>',
            f'<span class="cl-contact" title="{esc(r["contact"])}">{esc(r["contact"])}</span>',
            f'<span class="cl-status cl-status-{esc(r["status"])}">{esc(r["status"])}</span>',
            esc(fmt_duration(r["duration_s"])),
            f'<span class="cl-last">{esc((r["last_message"] or "")[:120])}</span>',
            esc(fmt_time(r["date"])),
            "🚩" if r["flagged"] else "",
            esc(", ".join(r["functions"] or [])),
            _kv(r["tags"], " · "),  # one line per row
        ]
        body.append(
            f'<tr data-id="{esc(r["id"])}" {ROW_ATTRS}{cls}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    return (
        '<table class="cl-table"><thead><tr>' + head + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def download_link(content: bytes, *, filename: str, mime: str, label: str) -> str:
    """An ``<a download>`` with the content as a base64 ``data:`` URI.

    Works in Voila and JupyterLab alike: the browser saves the file without a
    round trip to a server route (Voila exposes none for widget-made files).
    """
    payload = base64.b64encode(content).decode("ascii")
    return (
        f'<a class="cl-download" download="{esc(filename)}" href="data:{esc(mime)};base64,{payload}">'
        f"{esc(label)}</a>"
    )


TABLE_CSS = """
<style>
.cl-table { border-collapse: collapse; font-size: 12px; width: 100%; }
.cl-table th, .cl-table td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left;
  vertical-align: top; }
.cl-table th { background: #f4f4f4; position: sticky; top: 0; }
.cl-table th[data-sort] { cursor: pointer; user-select: none; white-space: nowrap; }
.cl-table th[data-sort]:hover { background: #e6e6e6; }
.cl-table th[aria-sort="ascending"], .cl-table th[aria-sort="descending"] { background: #dde7f7; }
.cl-table-html tbody tr[data-id] { cursor: pointer; }
.cl-table-html tbody tr[data-id]:hover td { background: #f6f9ff; }
.cl-table-html { overflow-x: auto; max-width: 100%; }
/* One line per row: long cells scroll sideways instead of making every row tall. */
.cl-table td { white-space: nowrap; }
.cl-table td { line-height: 1.3; }
.cl-table tr.cl-selected td { background: #e8f0fe; }
.cl-table tbody tr[data-id]:focus-visible { outline: 2px solid #3572c6; outline-offset: -2px; }
.cl-last { display: inline-block; max-width: 260px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: top; }
.cl-contact { display: inline-block; max-width: 180px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: top; }
/* A laptop screen (1366 px) beside the detail view: the long free-text cells give way, so
   a row shows its id, flow, status, duration and the start of its last message. */
@media (max-width: 1599px) {
  .cl-contact { max-width: 110px; }
  .cl-last { max-width: 150px; }
}
.cl-status-failed { color: #b00020; } .cl-status-abandoned { color: #a05a00; }
.cl-detail dt { font-weight: bold; margin-top: 4px; }
.cl-detail dd { margin-left: 12px; }
.cl-msg { margin: 3px 0; padding: 4px 8px; border-radius: 6px; max-width: 90%; white-space: pre-wrap; }
.cl-role-customer { background: #eef5ff; border-left: 3px solid #3572c6; }
.cl-role-agent { background: #f3f3f3; border-left: 3px solid #777; margin-left: 8%; }
.cl-role-human_agent { background: #f1fbef; border-left: 3px solid #3a9a3a; margin-left: 8%; }
.cl-role-supervisor { background: #fff7e6; border-left: 3px solid #d08a00; margin-left: 8%; }
.cl-role-system { background: #fafafa; color: #666; font-style: italic; }
.cl-emo { font-size: 11px; color: #555; }
.cl-fn-failed td { background: #fde8e8; color: #8b0000; }
/* An action that did not happen says so, in a colour nobody reads past. */
.cl-problem { background: #fdecea; color: #8b0000; border-left: 4px solid #c62828; padding: 4px 8px;
  margin: 4px 0; white-space: normal; }
.cl-waiting { background: #fff8e1; color: #5d4300; border-left: 4px solid #d4a100; padding: 4px 8px;
  margin: 4px 0; white-space: normal; }
.cl-done { color: #1b5e20; }
</style>
"""
