"""The review queue: unreviewed flags, newest first, that a QA reviewer works down.

Each entry names its conversation by id in the page, and a pick sends that id back (the
table's own view, :class:`~convolab.widgets.table.TableView`), so a pick made while the queue
is refreshing after the previous decision opens the conversation that was picked, or nothing;
never the one that moved into its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from convolab.errors import ConvolabError
from convolab.store import Workbench
from convolab.widgets._feedback import reporting
from convolab.widgets._html import ROW_ATTRS, TABLE_CSS, esc
from convolab.widgets.page_store import PageStore, session
from convolab.widgets.table import TableView

__all__ = ["ReviewQueue", "render_queue"]


def render_queue(rows: list[dict[str, Any]]) -> str:
    """Queue entries (conversation_id, criterion, severity) as one escaped HTML table."""
    body = "".join(
        f'<tr data-id="{esc(r["conversation_id"])}" {ROW_ATTRS}><td>{esc(r["conversation_id"])} · '
        f'{esc(r["criterion"])} ({esc(r["severity"])})</td></tr>'
        for r in rows
    )
    return f'<table class="cl-table cl-queue-list"><tbody>{body}</tbody></table>'


class ReviewQueue(widgets.HBox):
    """Unreviewed flags, newest first; click an entry (or Tab to it and press Enter) to open it.

    Parameters
    ----------
    lab
        The open store, or a :class:`~convolab.widgets.page_store.PageStore` (dashboards).
    on_pick
        Called with the conversation id of a picked entry (e.g. ``table.select``).
    limit
        Entries shown (the newest ``limit`` unreviewed flags).

    Attributes
    ----------
    ids : tuple of str
        The conversation ids of the entries shown, in order (a conversation with two
        unreviewed flags appears twice).
    side : ipywidgets.VBox
        The column beside the list: the count, then any message; a page may add to it.

    Examples
    --------
    >>> queue = ReviewQueue(store, on_pick=table.select)
    >>> queue.refresh()  # after a decision
    """

    def __init__(self, lab: Workbench | PageStore, *, on_pick: Callable[[str], Any] | None = None,
                 limit: int = 200) -> None:
        self.lab = lab
        self.limit = limit
        self.ids: tuple[str, ...] = ()
        self._callbacks: list[Callable[[str], Any]] = [on_pick] if on_pick else []
        self.view = TableView(layout=widgets.Layout(width="420px", height="140px", overflow="auto",
                                                    border="1px solid #ccc"))
        self.view.add_class("cl-queue")
        self.count = widgets.HTML()
        self.message = widgets.HTML()
        self.side = widgets.VBox([self.count, self.message])
        self.view.on_msg(reporting(self._say, "Open", self._on_view_msg))
        # labelled like the filters below it (ipywidgets put a description left of its control)
        title = widgets.HTML('<div style="text-align: right; padding-right: 8px; line-height: 28px">To review</div>',
                             layout=widgets.Layout(width="85px", min_width="85px"))
        super().__init__([widgets.HTML(TABLE_CSS), title, self.view, self.side])
        self.refresh()

    def refresh(self) -> None:
        """Re-read the queue (after a decision, or to see flags added since)."""
        try:
            with session(self.lab) as lab:
                rows = lab.unreviewed_flags(limit=self.limit).to_dicts()
        except ConvolabError as exc:  # the store is busy or gone: say so, keep the old list
            self._say(f'<div class="cl-problem">⚠ {esc(exc)}</div>')
            return
        self.message.value = ""
        self.ids = tuple(r["conversation_id"] for r in rows)
        self.view.value = render_queue(rows)
        self.count.value = f"<b>{len(rows)}</b> unreviewed flag(s) shown, newest first"

    def on_pick(self, callback: Callable[[str], Any]) -> None:
        """Register ``callback(conversation_id)`` for picks."""
        self._callbacks.append(callback)

    def pick(self, conversation_id: str) -> None:
        """Open an entry, as a click on it does (ids not in the queue are ignored)."""
        if conversation_id not in self.ids:
            return
        for callback in self._callbacks:
            callback(conversation_id)

    def _say(self, html: str) -> None:
        self.message.value = html

    def _on_view_msg(self, _view: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "select" and isinstance(content.get("id"), str):
            self.pick(content["id"])
