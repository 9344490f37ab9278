"""The conversation detail view: contract fields, transcript, functions, ⋯ menu and flag review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from convolab.conversations import DETAIL_FIELDS
from convolab.errors import ConvolabError, StoreInUse
from convolab.flags.review import add_manual_flag, decide
from convolab.store import Workbench
from convolab.widgets._feedback import error_text, reporting
from convolab.widgets._html import TABLE_CSS, download_link, esc, fmt_duration, fmt_time, fmt_value
from convolab.widgets.audio_player import AudioPlayer
from convolab.widgets.page_store import PageStore, session

__all__ = ["ConversationDetail", "render_fields", "render_functions", "render_transcript"]

_EXPORT_MIME = {"txt": "text/plain", "json": "application/json", "csv": "text/csv"}


def render_fields(d: dict[str, Any]) -> str:
    """The contract's detail fields, in order, as an escaped ``<dl>``."""
    sentiment = d.get("sentiment")
    if sentiment:
        tops = zip(sentiment.get("top_emotions") or [], sentiment.get("top_scores") or [], strict=False)
        senti = ", ".join(f"{esc(e)} ({s:.2f})" for e, s in tops) + (
            f" — {esc(sentiment.get('polarity'))}, trend {esc(sentiment.get('trend'))}"
        )
    else:
        senti = "<i>not scored</i>"
    flags = d.get("review_flags") or []
    values = {
        "Platform": f"{esc(d.get('platform_icon'))} {esc(d.get('platform'))}",
        "Contact ID": esc(d.get("contact_id")),
        "Status": esc(d.get("status")),
        "Tags": "<br>".join(f"<b>{esc(k)}</b>: {esc(v)}" for k, v in (d.get("tags") or {}).items()),
        "Sentiment": senti,
        "Duration": esc(fmt_duration(d.get("duration_s"))),
        "Start": esc(fmt_time(d.get("started_at"))),
        "End": esc(fmt_time(d.get("ended_at"))),
        "Review Flags": "<br>".join(
            f"🚩 <b>{esc(f['criterion'])}</b> ({esc(f['severity'])}): {esc(f['reason'])}"
            + (f" — <i>{esc(f['decision'])}</i>" if f.get("decision") else "")
            for f in flags
        ) or "none",
        "Summary": esc(d.get("summary")),
        "Analysis": esc(d.get("analysis")),
    }
    items = "".join(
        f'<dt data-field="{esc(name)}">{esc(name)}</dt><dd>{values[name]}</dd>' for name in DETAIL_FIELDS
    )
    return f'<dl class="cl-detail">{items}</dl>'


def render_transcript(d: dict[str, Any]) -> str:
    """Messages as role-styled blocks; customer messages show their emotions when scored."""
    parts = []
    for m in d.get("transcript") or []:
        role = m.get("role") or "system"
        extra = ""
        emotions = [e["emotion"] for e in m.get("emotions") or []]
        if role == "customer" and emotions:
            extra = f'<div class="cl-emo">{esc(", ".join(emotions))}</div>'
        parts.append(
            f'<div class="cl-msg cl-role-{esc(role)}"><b>{esc(role)}</b> '
            f'<small>{esc(fmt_time(m.get("sent_at")))}</small><br>{esc(m.get("text"))}{extra}</div>'
        )
    return '<div class="cl-transcript">' + "".join(parts) + "</div>"


def render_functions(d: dict[str, Any]) -> str:
    """Functions (name, arguments, output, status; failures highlighted) and Parameters."""
    rows = "".join(
        f'<tr class="{"cl-fn-failed" if (f.get("status") or "ok") != "ok" else ""}">'
        f"<td>{esc(f.get('name'))}</td><td>{esc(fmt_value(f.get('arguments')))}</td>"
        f"<td>{esc(fmt_value(f.get('output')))}</td><td>{esc(f.get('status'))}</td></tr>"
        for f in d.get("functions") or []
    )
    params = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in (d.get("parameters") or {}).items()
    )
    return (
        '<h4>Functions</h4><table class="cl-table cl-functions"><thead><tr><th>Name</th><th>Arguments</th>'
        f"<th>Output</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
        '<h4>Parameters</h4><table class="cl-table cl-parameters"><thead><tr><th>Key</th><th>Value</th></tr>'
        f"</thead><tbody>{params}</tbody></table>"
    )


class ConversationDetail(widgets.VBox):
    """Everything about one conversation, with the ⋯ menu and flag review actions.

    Parameters
    ----------
    lab
        The open store, or a :class:`~convolab.widgets.page_store.PageStore` (dashboards:
        the file is opened for each action only).
    reviewer
        Name recorded with decisions, manual flags and deletes (default:
        :func:`convolab.store.current_actor`, asked at each action: the JupyterHub
        user, the reviewer ``convolab serve`` identified for this page,
        ``CONVOLAB_USER``, the OS user).
    on_change
        Called with the conversation id after a delete, a decision or a new flag
        (the dashboard refreshes the table).

    Examples
    --------
    >>> detail = ConversationDetail(lab); detail.show("c-000001")
    """

    def __init__(self, lab: Workbench | PageStore, *, reviewer: str | None = None,
                 on_change: Callable[[str], Any] | None = None) -> None:
        self.lab = lab
        self.reviewer = reviewer
        self.on_change = on_change
        self.conversation_id: str | None = None
        self.data: dict[str, Any] | None = None
        self.title = widgets.HTML()
        self.menu_button = widgets.ToggleButton(description="⋯", tooltip="Export, audio, delete",
                                                layout=widgets.Layout(width="48px"))
        self.menu = widgets.VBox(layout=widgets.Layout(display="none"))
        self.downloads = widgets.HTML()
        self.downloads.add_class("cl-downloads")
        self.delete_button = widgets.Button(description="Delete", button_style="danger")  # no icon: pages load no icon font from a CDN
        self.confirm_delete = widgets.Button(description="Confirm delete", button_style="danger")
        self.cancel_delete = widgets.Button(description="Cancel")
        self.delete_box = widgets.HBox([widgets.Label("Delete this conversation for good?"),
                                        self.confirm_delete, self.cancel_delete],
                                       layout=widgets.Layout(display="none"))
        # The call player and its "Download Audio" send audio only when asked (see audio_player).
        self.player = AudioPlayer(lab)
        self.menu.children = [self.downloads, self.player.download, self.delete_button, self.delete_box]
        self.fields = widgets.HTML()
        self.fields.add_class("cl-fields")
        self.flag_box = widgets.VBox()
        self.chart = widgets.Box()
        self.transcript = widgets.HTML()
        self.transcript.add_class("cl-transcript-html")
        self.functions = widgets.HTML()
        self.message = widgets.HTML()
        self.new_criterion = widgets.Text(placeholder="criterion", layout=widgets.Layout(width="140px"))
        self.new_severity = widgets.Dropdown(options=["low", "medium", "high"], value="medium",
                                             layout=widgets.Layout(width="90px"))
        self.new_reason = widgets.Text(placeholder="reason")
        self.add_button = widgets.Button(description="Add flag")

        self.menu_button.observe(self._toggle_menu, "value")
        self.delete_button.on_click(lambda _: setattr(self.delete_box.layout, "display", "flex"))
        self.cancel_delete.on_click(lambda _: setattr(self.delete_box.layout, "display", "none"))
        # Every action reports its failure here, not only in the kernel log (widgets._feedback).
        self.confirm_delete.on_click(reporting(self._say, "Delete", self._delete))
        self.add_button.on_click(reporting(self._say, "Add flag", self._add_flag))
        super().__init__([widgets.HTML(TABLE_CSS), widgets.HBox([self.title, self.menu_button]), self.menu,
                          self.message, self.fields, self.flag_box,
                          widgets.HBox([self.new_criterion, self.new_severity, self.new_reason, self.add_button]),
                          self.player, self.chart, self.transcript, self.functions])
        self.add_class("cl-detail-view")
        self.layout.display = "none"

    # -- showing ---------------------------------------------------------------------------

    def show(self, conversation_id: str) -> None:
        """Load and display one conversation (a problem reading the store is shown, not raised)."""
        try:
            with session(self.lab, on_wait=lambda exc: self._waiting(f"open {conversation_id}", exc)) as lab:
                self._show(lab, conversation_id)
        except ConvolabError as exc:
            self.layout.display = "flex"
            self._problem(f"Could not open {conversation_id}: {exc}")

    def _show(self, lab: Workbench, conversation_id: str) -> None:
        d = lab.conversation(conversation_id)
        self.conversation_id = conversation_id
        self.data = d
        self.layout.display = "flex"
        self.message.value = ""
        self.title.value = f"<h3>{esc(d['id'])} · {esc(d.get('flow'))} · {esc(d.get('contact'))}</h3>"
        self.fields.value = render_fields(d)
        self.transcript.value = "<h4>Transcript</h4>" + render_transcript(d)
        self.functions.value = render_functions(d)
        self._render_flags(d)
        self._render_downloads(lab, d)
        self.player.show(conversation_id, lab=lab)
        self.chart.children = self._chart(d)
        self.delete_box.layout.display = "none"

    def _render_flags(self, d: dict[str, Any]) -> None:
        rows = []
        for f in d.get("review_flags") or []:
            note = widgets.Text(placeholder="note", layout=widgets.Layout(width="200px"))
            confirm = widgets.Button(description="Confirm", button_style="success",
                                     layout=widgets.Layout(width="90px"))
            dismiss = widgets.Button(description="Dismiss", layout=widgets.Layout(width="90px"))
            confirm.on_click(reporting(self._say, "Confirm", lambda _, f=f, note=note: self._decide(
                f["flag_id"], "confirmed", note.value)))
            dismiss.on_click(reporting(self._say, "Dismiss", lambda _, f=f, note=note: self._decide(
                f["flag_id"], "dismissed", note.value)))
            state = f" — {esc(f['decision'])} by {esc(f['reviewer'])}" if f.get("decision") else " — unreviewed"
            label = widgets.HTML(f"🚩 <b>{esc(f['criterion'])}</b>{state}")
            label.add_class("cl-flag-state")
            rows.append(widgets.HBox([label, note, confirm, dismiss]))
        self.flag_box.children = rows

    def _render_downloads(self, lab: Workbench, d: dict[str, Any]) -> None:
        cid = str(d["id"])
        links = []
        for fmt in ("txt", "json", "csv"):
            try:
                data = lab.export(cid, fmt)
            except Exception as exc:  # noqa: BLE001 - one failed format must not hide the others
                links.append(f'<span class="cl-error">Export Transcript ({fmt.upper()}) failed:'
                             f" {esc(error_text(exc))}</span>")
                continue
            links.append(download_link(data, filename=f"{cid}.{fmt}", mime=_EXPORT_MIME[fmt],
                                       label=f"Export Transcript ({fmt.upper()})"))
        self.downloads.value = " · ".join(links)  # Download Audio is self.player.download: fetched on click

    def _chart(self, d: dict[str, Any]) -> tuple[widgets.Widget, ...]:
        points = [(m["seq"], m["sentiment"]) for m in d.get("transcript") or [] if m.get("sentiment") is not None]
        if not points:
            return ()
        try:
            import plotly.graph_objects as go

            fig = go.FigureWidget(
                go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers"),
                layout={"title": "Customer sentiment over the conversation", "height": 220,
                        "yaxis": {"range": [-1.05, 1.05], "title": "sentiment"},
                        # Half a message of padding so the first and last points are not clipped.
                        "xaxis": {"title": "message", "dtick": 1,
                                  "range": [points[0][0] - 0.5, points[-1][0] + 0.5]},
                        "margin": {"l": 50, "r": 20, "t": 40, "b": 30}},
            )
        except Exception:  # noqa: BLE001 - FigureWidget needs anywidget; fall back to a text sparkline
            bars = "▁▂▃▄▅▆▇█"
            spark = "".join(bars[min(7, int((s + 1) / 2 * 8))] for _, s in points)
            return (widgets.HTML(f"<div>Sentiment over the conversation: <code>{esc(spark)}</code></div>"),)
        return (fig,)

    # -- actions ---------------------------------------------------------------------------

    def _say(self, html: str) -> None:
        """Show a (pre-escaped) message above the fields: a result, or why an action failed."""
        self.message.value = html

    def _toggle_menu(self, change: dict[str, Any]) -> None:
        self.menu.layout.display = "flex" if change["new"] else "none"

    def _problem(self, text: str) -> None:
        self.message.value = f'<div class="cl-problem">⚠ {esc(text)}</div>'

    def _waiting(self, what: str, exc: Exception) -> None:
        # Shown while the click waits for another process's write (the kernel is busy waiting).
        self.message.value = (f'<div class="cl-waiting">⏳ Waiting to {esc(what)}: {esc(exc)}.'
                              " Your click goes through when it is free.</div>")

    def _act(self, what: str, action: Callable[[Workbench], Any]) -> bool:
        """Run one user action in one store session; a failure is shown, never dropped.

        The action, the refreshed view and the dashboard's refresh (``on_change``)
        share the session, so a file store is opened once per click.
        """
        cid = self.conversation_id
        try:
            with session(self.lab, on_wait=lambda exc: self._waiting(what, exc)) as lab:
                action(lab)
                if self.conversation_id is not None:
                    self._show(lab, self.conversation_id)
                if self.on_change and cid is not None:
                    self.on_change(cid)
        except StoreInUse as exc:  # another process's long write: nothing was saved, say so
            self._problem(f"Not saved: {what} failed: {exc}")
            return False
        # Any other failure propagates to the click's reporting() wrapper: "<Action> failed: why".
        return True

    def _decide(self, flag_id: int, decision: str, note: str) -> None:
        done = self._act(f"{decision[:-2]} flag", lambda lab: decide(
            lab, flag_id, decision, reviewer=self.reviewer, note=note or None))
        if done:
            self.message.value = f'<b class="cl-done">Flag {esc(decision)}.</b>'

    def _add_flag(self, _button: widgets.Button) -> None:
        criterion = self.new_criterion.value.strip()
        if not criterion or self.conversation_id is None:
            self._problem("Give the flag a criterion.")
            return
        cid = self.conversation_id
        done = self._act("add flag", lambda lab: add_manual_flag(
            lab, cid, criterion, severity=self.new_severity.value,
            reason=self.new_reason.value.strip() or "added by a reviewer", reviewer=self.reviewer))
        if done:
            self.new_criterion.value = self.new_reason.value = ""

    def _delete(self, _button: widgets.Button) -> None:
        cid = self.conversation_id
        if cid is None:
            return

        def delete(lab: Workbench) -> None:
            lab.delete(cid, actor=self.reviewer)
            self.conversation_id = self.data = None

        if self._act("delete", delete):
            self.player.clear()
            self.layout.display = "none"
            self.menu_button.value = False
