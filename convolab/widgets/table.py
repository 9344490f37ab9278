"""The conversations table: one page at a time, filtered and sorted in DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from convolab.conversations import PLATFORMS, STATUSES
from convolab.errors import ConvolabError, StoreInUse
from convolab.store import ConversationFilter, Workbench
from convolab.widgets._feedback import error_html, reporting
from convolab.widgets._html import ROW_ATTRS, TABLE_CSS, TABLE_HEADERS, esc, render_table
from convolab.widgets.page_store import PageStore, session

__all__ = ["ConversationTable", "TableView"]

_SORTS = (
    ("Date", "date"),
    ("ID", "id"),
    ("Flow", "flow"),
    ("Platform", "platform"),
    ("Contact", "contact"),
    ("Status", "status"),
    ("Duration", "duration"),
    ("Last Message", "last_message"),
    ("Flagged", "flagged"),
    ("Functions", "functions"),
)
_ANY = "(any)"
_WRAP = {"flex_flow": "row wrap"}
#: Sort keys a header click may ask for (every header but Tags).
HEADER_SORTS = frozenset(key for _, _, key in TABLE_HEADERS if key is not None)
#: A first click on these headers sorts newest / longest / most first; on the others A to Z.
DESCENDING_FIRST = frozenset({"date", "duration", "flagged", "functions"})

# The view's front end: show the (already escaped) HTML, and report clicks on a sortable
# header (or Enter/Space on a focused one) and on a row. It never builds markup itself.
_VIEW_ESM = r"""
function render({ model, el }) {
  const draw = () => {
    // A redraw (after a click, a decision, an ingest) keeps the keyboard on the row it was on.
    const focused = el.querySelector("tbody tr[data-id]:focus");
    el.innerHTML = model.get("value");
    const again = focused && [...el.querySelectorAll("tbody tr[data-id]")].find((tr) => tr.dataset.id === focused.dataset.id);
    if (again) again.focus();
  };
  const sortFrom = (event) => {
    const th = event.target.closest("th[data-sort]");
    if (th && el.contains(th)) { model.send({ event: "sort", key: th.dataset.sort }); return true; }
    return false;
  };
  // A row is opened by its id (never by its position), so a click that races a refresh
  // opens the row that was clicked or nothing. Rows are focusable: Enter or Space opens
  // the focused one, the arrow keys move between them.
  const rowOf = (event) => {
    const tr = event.target.closest("tbody tr[data-id]");
    return tr && el.contains(tr) ? tr : null;
  };
  const onClick = (event) => {
    if (sortFrom(event)) return;
    const tr = rowOf(event);
    if (tr) model.send({ event: "select", id: tr.dataset.id });
  };
  const onKey = (event) => {
    if (event.key === "Enter" || event.key === " ") {
      if (sortFrom(event)) { event.preventDefault(); return; }
      const tr = rowOf(event);
      if (tr) { event.preventDefault(); model.send({ event: "select", id: tr.dataset.id }); }
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const tr = rowOf(event);
      const next = tr && (event.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling);
      if (next) { event.preventDefault(); next.focus(); }
    }
  };
  draw();
  model.on("change:value", draw);
  el.addEventListener("click", onClick);
  el.addEventListener("keydown", onKey);
  return () => {
    model.off("change:value", draw);
    el.removeEventListener("click", onClick);
    el.removeEventListener("keydown", onKey);
  };
}
export default { render };
"""


class TableView(anywidget.AnyWidget):
    """One page of the table as escaped HTML (``value``); header and row clicks come back as messages.

    Messages from the browser: ``{"event": "sort", "key": <sort key>}`` and
    ``{"event": "select", "id": <conversation id>}``. :class:`ConversationTable`
    validates both before acting on them.
    """

    _esm = _VIEW_ESM
    value = traitlets.Unicode("").tag(sync=True)


def _problem(exc: Exception) -> str:
    return f'<div class="cl-problem">⚠ {esc(exc)}; refresh to try again.</div>'


def _emotion_labels() -> tuple[str, ...]:
    from convolab.emotions.labels import LABELS  # plain data: no model needed

    return tuple(label for label in LABELS if label != "neutral")


class ConversationTable(widgets.VBox):
    """A paged, sortable, filterable table of conversations.

    Only the visible page ever leaves DuckDB: filters, sort and paging are
    passed to :meth:`Workbench.list_conversations`, and the page is rendered as
    one escaped HTML table, so the browser receives ~50 rows whatever the size
    of the store. Click a column header to sort by it (in DuckDB); click it
    again to flip the direction (▲ ascending, ▼ descending). Click a row to
    open it, or Tab to it (↑/↓ move between rows) and press Enter.

    Parameters
    ----------
    lab
        The open store, or a :class:`~convolab.widgets.page_store.PageStore` (dashboards:
        the file is opened for each refresh only).
    page_size
        Rows per page (50 by default).
    on_select
        Called with the conversation id when a row is selected.
    flagged
        Initial "flagged" filter (``True`` shows the review queue first).

    Attributes
    ----------
    selected : str or None
        The selected conversation id (a trait: ``table.observe(fn, "selected")``).
    row_ids : tuple of str
        The ids of the rows on the current page, in their order.

    Examples
    --------
    >>> table = ConversationTable(convolab.open(), on_select=detail.show)
    """

    selected = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self,
        lab: Workbench | PageStore,
        *,
        page_size: int = 50,
        on_select: Callable[[str], Any] | None = None,
        flagged: bool | None = None,
        sort: str = "date",
        descending: bool = True,
    ) -> None:
        self.lab = lab
        self.page_size = page_size
        self.page = 0
        self.total = 0
        self.last_html = ""
        self._callbacks: list[Callable[[str], Any]] = [on_select] if on_select else []
        self._quiet = False  # set while several controls change for one refresh
        self._page_ids: list[str] = []

        self.notice = widgets.HTML()
        self.notice.add_class("cl-table-notice")
        try:
            with session(lab) as opened:
                flows = opened.list_flows()
        except ConvolabError as exc:  # the page still comes up, saying why it is empty
            flows = []
            self.notice.value = _problem(exc)
        small = widgets.Layout(width="160px")
        self.status = widgets.Dropdown(options=[_ANY, *STATUSES], description="Status", layout=small)
        self.flow = widgets.Dropdown(options=[_ANY, *flows], description="Flow", layout=widgets.Layout(width="240px"))
        self.platform = widgets.Dropdown(options=[_ANY, *PLATFORMS], description="Platform", layout=small)
        # "(any)" is a string value: a Dropdown whose value is None shows as blank.
        self.flagged = widgets.Dropdown(
            options=[(_ANY, _ANY), ("flagged 🚩", True), ("not flagged", False)],
            value=_ANY if flagged is None else flagged, description="Flagged",
            layout=widgets.Layout(width="185px"),
        )
        labels = _emotion_labels()
        self.emotion = (
            widgets.Dropdown(options=[_ANY, *labels], description="Emotion", layout=small)
            if labels else widgets.Text(description="Emotion", layout=small)
        )
        # Wide enough for the browser's whole mm/dd/yyyy field beside its label.
        self.since = widgets.DatePicker(description="From", layout=widgets.Layout(width="215px"))
        self.until = widgets.DatePicker(description="To", layout=widgets.Layout(width="215px"))
        self.search = widgets.Text(placeholder="search transcripts", description="Search", continuous_update=False)
        self.sort = widgets.Dropdown(options=_SORTS, value=sort, description="Sort", layout=small)
        self.descending = widgets.ToggleButton(value=descending, description="▼ desc", layout=widgets.Layout(width="80px"))
        self.prev_button = widgets.Button(description="◀ Prev", layout=widgets.Layout(width="80px"))
        self.next_button = widgets.Button(description="Next ▶", layout=widgets.Layout(width="80px"))
        self.page_label = widgets.Label()
        # min_width 0 lets the flex item shrink, so a wide page scrolls inside it instead of
        # spilling under the detail view.
        self.html = TableView(layout=widgets.Layout(overflow="auto", flex="1 1 auto", min_width="0"))
        self.html.add_class("cl-table-html")
        self.html.on_msg(reporting(self._say, "Table click", self._on_view_msg))

        # Shows why a click failed (widgets._feedback); ipywidgets would only log it.
        self.message = widgets.HTML()
        self.message.add_class("cl-table-message")
        for w in (self.status, self.flow, self.platform, self.flagged, self.emotion,
                  self.since, self.until, self.search, self.sort, self.descending):
            w.observe(reporting(self._say, "Filter", self._on_filter), "value")
        self.prev_button.on_click(reporting(self._say, "Previous page", lambda _: self.go(self.page - 1)))
        self.next_button.on_click(reporting(self._say, "Next page", lambda _: self.go(self.page + 1)))

        super().__init__([
            widgets.HTML(TABLE_CSS),
            # Controls wrap onto another line on a narrow screen instead of running under the detail view.
            widgets.HBox([self.status, self.flow, self.platform, self.flagged], layout=_WRAP),
            widgets.HBox([self.emotion, self.since, self.until, self.search], layout=_WRAP),
            widgets.HBox([self.sort, self.descending, self.prev_button, self.next_button, self.page_label],
                         layout=_WRAP),
            self.message,
            self.notice,
            self.html,
        ])
        self.layout.min_width = "0"  # beside a detail view: shrink and scroll, don't overlap it
        self.refresh()

    # -- state -----------------------------------------------------------------------------

    @property
    def row_ids(self) -> tuple[str, ...]:
        """The ids of the rows on the current page, in the order shown."""
        return tuple(self._page_ids)

    def filters(self) -> ConversationFilter:
        """The filter the controls describe (every value bound as a SQL parameter downstream)."""

        def pick(value: Any) -> Any:
            return None if value in (_ANY, "") else value

        since: date | None = self.since.value
        until: date | None = self.until.value
        return ConversationFilter(
            status=pick(self.status.value),
            flow=pick(self.flow.value),
            platform=pick(self.platform.value),
            flagged=pick(self.flagged.value),
            search=pick(self.search.value.strip()),
            emotion=pick(self.emotion.value),
            since=since,
            until=until,
        )

    def on_select(self, callback: Callable[[str], Any]) -> None:
        """Register ``callback(conversation_id)`` for row selection."""
        self._callbacks.append(callback)

    # -- actions ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-query the current page (after a filter change, a delete or a decision)."""
        self.message.value = ""
        f = self.filters()
        try:
            with session(self.lab, on_wait=self._waiting) as lab:
                self.total = lab.count_conversations(f)
                last = max(0, (self.total - 1) // self.page_size)
                self.page = min(max(self.page, 0), last)
                frame = lab.list_conversations(
                    f, sort=self.sort.value, descending=self.descending.value,
                    limit=self.page_size, offset=self.page * self.page_size,
                )
        except StoreInUse as exc:  # a long ingest holds a file store: say so, keep the old page
            # (any other failure reaches the control's reporting() wrapper: "<Action> failed: why")
            self.notice.value = _problem(exc)
            return
        self.notice.value = ""
        rows = frame.to_dicts()
        self.last_html = render_table(rows, sort=self.sort.value, descending=self.descending.value,
                                      selected=self.selected)
        self.html.value = self.last_html
        self.descending.description = "▼ desc" if self.descending.value else "▲ asc"
        first = self.page * self.page_size + 1 if rows else 0
        self.page_label.value = f"{first}–{first + len(rows) - 1 if rows else 0} of {self.total:,}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= last
        self._page_ids = [r["id"] for r in rows]

    def _waiting(self, exc: Exception) -> None:
        self.notice.value = f'<div class="cl-waiting">⏳ Waiting for the store: {esc(exc)}.</div>'

    def sort_by(self, key: str) -> None:
        """Sort by a column, as a click on its header does.

        A new column sorts newest / longest / most first for Date, Duration,
        Flagged and Functions, A to Z for the others; the current column flips
        direction. Paging restarts at the first page.
        """
        if key not in HEADER_SORTS:
            raise ValueError(f"cannot sort by {key!r}; choose one of {sorted(HEADER_SORTS)}")
        descending = (not self.descending.value) if key == self.sort.value else key in DESCENDING_FIRST
        self._quiet = True
        try:
            self.sort.value = key
            self.descending.value = descending
        finally:
            self._quiet = False
        self.page = 0
        self.refresh()

    def go(self, page: int) -> None:
        """Show page ``page`` (0-based; clamped to the available pages)."""
        self.page = page
        self.refresh()

    def select(self, conversation_id: str) -> None:
        """Select a conversation and notify the callbacks (as a row click does)."""
        self.selected = conversation_id
        row = f'<tr data-id="{esc(conversation_id)}" {ROW_ATTRS}'
        self.html.value = self.last_html = self.last_html.replace(' class="cl-selected"', "").replace(
            row + ">", row + ' class="cl-selected">'
        )
        for callback in self._callbacks:
            try:
                callback(conversation_id)
            except Exception as exc:  # noqa: BLE001 - e.g. the detail view of a row deleted meanwhile
                self._say(error_html(f"Opening {conversation_id}", exc))

    def _say(self, html: str) -> None:
        """Show a (pre-escaped) message above the table, e.g. why a click failed."""
        self.message.value = html

    def _on_filter(self, _change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self.page = 0
        self.refresh()

    def _on_view_msg(self, _view: Any, content: Any, _buffers: Any) -> None:
        """A header or row click in the browser; anything unexpected is ignored."""
        if not isinstance(content, dict):
            return
        if content.get("event") == "sort" and content.get("key") in HEADER_SORTS:
            self.sort_by(content["key"])
        elif content.get("event") == "select" and content.get("id") in self._page_ids:
            self.select(content["id"])
