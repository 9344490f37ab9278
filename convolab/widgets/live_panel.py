"""The live-calls panel: calls refreshing in place, an Actions menu, coaching, the live transcript.

The panel asks :meth:`CallControl.allowed_actions` what to offer and lets the
shared state machine refuse anything else, so it never duplicates the rules.
All conversation text is escaped before it reaches an HTML widget.
"""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import ipywidgets as w

from convolab.live.base import CallControl
from convolab.widgets._feedback import error_text, reporting

__all__ = ["LiveCallPanel", "LivePanel"]

LABELS = {
    "listen_in": "Listen In",
    "take_over": "Take Over",
    "hand_back": "Hand Back",
    "transfer": "Transfer…",
    "enqueue": "Enqueue",
    "end": "End",
    "add_coaching": "Add Coaching",
}
#: Actions that cannot be undone ask for confirmation first.
CONFIRM = {"end", "transfer"}
RISK_COLOURS = {"high": "#c62828", "medium": "#ef6c00", "low": "#2e7d32"}


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class LiveCallPanel(w.VBox):
    """Watch live calls and act on them.

    Parameters
    ----------
    control
        A :class:`~convolab.live.base.CallControl` (``convolab.live.connect(...)``).
    refresh_s
        Seconds between refreshes of the calls table and transcript; ``0`` refreshes
        only when :meth:`refresh` is called.

    Examples
    --------
    >>> panel = LiveCallPanel(convolab.live.connect("simulated", lab=lab))
    >>> panel  # in a notebook or Voila
    """

    def __init__(self, control: CallControl, *, refresh_s: float = 1.0) -> None:
        self.control = control
        self.refresh_s = refresh_s
        self.calls_html = w.HTML().add_class("convolab-live-calls")
        self.call_picker = w.Dropdown(description="Call", options=[]).add_class("convolab-live-call")
        self.action_picker = w.Dropdown(description="Actions", options=[]).add_class("convolab-live-action")
        self.destination = w.Text(placeholder="+15555550100", description="To").add_class("convolab-live-to")
        self.run_button = w.Button(description="Run", button_style="primary").add_class("convolab-live-run")
        self.confirm_text = w.HTML().add_class("convolab-live-confirm-text")
        self.confirm_button = w.Button(description="Confirm", button_style="danger").add_class(
            "convolab-live-confirm")
        self.cancel_button = w.Button(description="Cancel").add_class("convolab-live-cancel")
        self.confirm_box = w.HBox([self.confirm_text, self.confirm_button, self.cancel_button])
        self.confirm_box.layout.display = "none"
        self.coaching = w.Textarea(placeholder="Note to the AI agent (never heard by the caller)").add_class(
            "convolab-live-coaching")
        self.coach_button = w.Button(description="Send coaching").add_class("convolab-live-coach")
        self.status = w.HTML().add_class("convolab-live-status")
        self.transcript_html = w.HTML().add_class("convolab-live-transcript")
        self._pending: tuple[str, str, dict[str, Any]] | None = None
        self._stop = threading.Event()
        self._refresh_lock = threading.Lock()

        self._quiet = False
        # A failed click is shown in the panel (status), never only in the kernel log or the audit log.
        self.call_picker.observe(self._reporting("Refresh", lambda _: self._quiet or self._refresh_detail()),
                                 names="value")
        self.run_button.on_click(self._reporting("Run", lambda _: self._run()))
        self.confirm_button.on_click(self._reporting("Confirm", lambda _: self._confirm()))
        self.cancel_button.on_click(self._reporting("Cancel", lambda _: self._cancel()))
        self.coach_button.on_click(self._reporting("Send coaching", lambda _: self._coach()))
        super().__init__([
            w.HTML("<h3>Live calls</h3>"),
            self.calls_html,
            w.HBox([self.call_picker, self.action_picker, self.destination, self.run_button]),
            self.confirm_box,
            w.HBox([self.coaching, self.coach_button]),
            self.status,
            self.transcript_html,
        ])
        self.add_class("convolab-live-panel")
        self.refresh()
        if refresh_s > 0:
            threading.Thread(target=self._loop, name="convolab-live-panel", daemon=True).start()

    # -- refreshing --------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep refreshing; show the problem instead of dying silently
                self._say(f"refresh failed: {error_text(exc)}", error=True)

    def close(self) -> None:
        """Stop refreshing and close the widgets."""
        self._stop.set()
        super().close()

    def refresh(self) -> None:
        """Redraw the calls table, the Actions menu and the transcript in place."""
        with self._refresh_lock:
            calls = self.control.calls()
            self.calls_html.value = self._render_calls(calls)
            ids = calls["id"].to_list()
            options = [(f"{cid} ({status}, {handler})", cid)
                       for cid, status, handler in zip(ids, calls["status"], calls["handler"], strict=True)]
            if options != list(self.call_picker.options):
                current = self.call_picker.value
                # New options reset the selection to the first call; restore it in the same
                # sync, quietly, so the browser never shows another call's actions meanwhile.
                self._quiet = True
                try:
                    with self.call_picker.hold_sync():
                        self.call_picker.options = options
                        if current in ids:
                            self.call_picker.value = current
                finally:
                    self._quiet = False
            self._refresh_detail()

    def _refresh_detail(self) -> None:
        cid = self.call_picker.value
        if cid is None:
            self.action_picker.options, self.transcript_html.value = [], ""
            return
        allowed = self.control.allowed_actions(cid)
        options = [(LABELS[a], a) for a in allowed if a != "add_coaching"]
        if options != list(self.action_picker.options):
            current = self.action_picker.value
            with self.action_picker.hold_sync():
                self.action_picker.options = options
                if current in allowed:
                    self.action_picker.value = current
        self.run_button.disabled = not options
        self.coach_button.disabled = "add_coaching" not in allowed
        self.transcript_html.value = self._render_transcript(cid)

    def _render_calls(self, calls: Any) -> str:
        head = ("<tr><th>ID</th><th>Contact</th><th>Platform</th><th>Status</th><th>Handler</th>"
                "<th>Duration</th><th>Flow state</th><th>Functions</th><th>Emotions</th><th>Risk</th></tr>")
        rows = []
        for r in calls.iter_rows(named=True):
            handler = r["handler"] + (" (listening)" if r["listening"] and r["handler"] == "ai" else "")
            rows.append(
                f'<tr data-call-id="{_esc(r["id"])}" data-status="{_esc(r["status"])}"'
                f' data-handler="{_esc(r["handler"])}">'
                f"<td>{_esc(r['id'])}</td><td>{_esc(r['contact'])}</td>"
                f"<td>{'📞' if r['platform'] == 'phone' else '💬'}</td>"
                f'<td class="status">{_esc(r["status"])}</td><td class="handler">{_esc(handler)}</td>'
                f"<td>{_duration(r['duration_s'])}</td><td>{_esc(r['flow_state'])}</td>"
                f"<td>{_esc(', '.join(r['functions']))}</td><td>{_esc(', '.join(r['top_emotions']))}</td>"
                f'<td style="color:{RISK_COLOURS.get(r["risk"], "inherit")}">{_esc(r["risk"])}</td></tr>'
            )
        return f'<table class="convolab-live-table">{head}{"".join(rows)}</table>'

    def _render_transcript(self, cid: str) -> str:
        lines = []
        for m in self.control.messages(cid)[-40:]:
            emotions = f' <small>[{_esc(", ".join(m.emotions))}]</small>' if m.emotions else ""
            lines.append(f'<div class="msg {_esc(m.role)}"><b>{_esc(m.role)}</b>: {_esc(m.text)}{emotions}</div>')
        return f"<h4>Transcript of {_esc(cid)}</h4>" + "".join(lines)

    # -- acting ------------------------------------------------------------------------

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "#c62828" if error else "#2e7d32"
        css = "convolab-live-error" if error else "convolab-live-ok"
        self.status.value = f'<span class="{css}" style="color:{colour}">{_esc(text)}</span>'

    def _reporting(self, action: str, handler: Any) -> Any:
        return reporting(lambda html: setattr(self.status, "value", html), action, handler)

    def _run(self) -> None:
        cid, action = self.call_picker.value, self.action_picker.value
        if cid is None or action is None:
            self._say("choose a call and an action", error=True)
            return
        params: dict[str, Any] = {}
        if action == "transfer":
            params["to"] = self.destination.value.strip()
        if action in CONFIRM:
            self._pending = (cid, action, params)
            what = f"transfer {cid} to {params['to']}" if action == "transfer" else f"end call {cid} for everyone"
            self.confirm_text.value = f"<b>Really {_esc(what)}?</b>"
            self.confirm_box.layout.display = "flex"
            return
        self._do(cid, action, params)

    def _confirm(self) -> None:
        if self._pending is not None:
            self._do(*self._pending)
        self._cancel()

    def _cancel(self) -> None:
        self._pending = None
        self.confirm_box.layout.display = "none"

    def _coach(self) -> None:
        cid = self.call_picker.value
        if cid is not None:
            self._do(cid, "add_coaching", {"text": self.coaching.value})
            self.coaching.value = ""

    def _do(self, cid: str, action: str, params: dict[str, Any]) -> None:
        label = LABELS[action].rstrip("…")
        try:
            getattr(self.control, action)(cid, **params)
        except Exception as exc:  # noqa: BLE001 - refused, or the backend/network failed: say so here
            self._say(f"{label} failed for {cid}: {error_text(exc)}", error=True)
        else:
            self._say(f"{label}: done for {cid}")
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - keep the action's message, add why the redraw failed
            self._say(f"{self.status_text()}; refresh failed: {error_text(exc)}", error=True)

    def status_text(self) -> str:
        """The panel's current status line as plain text (what the supervisor reads)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))


LivePanel = LiveCallPanel
