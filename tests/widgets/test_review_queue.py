"""The review queue widget: unreviewed flags newest first, picked by conversation id."""

from __future__ import annotations

from convolab.flags import add_manual_flag, confirm_flag
from convolab.widgets import ReviewQueue
from convolab.widgets.queue import render_queue


def _send(queue: ReviewQueue, **content) -> None:
    """What the queue's front end sends when an entry is clicked (or Enter is pressed on it)."""
    queue.view._handle_custom_msg(content, [])


def test_the_queue_lists_unreviewed_flags_newest_first_and_opens_by_id(sample_lab) -> None:
    ids = sample_lab.list_conversations(limit=3, sort="id", descending=False)["id"].to_list()
    flags = [add_manual_flag(sample_lab, cid, "needs_look", reason="planted", reviewer="setup") for cid in ids]
    opened: list[str] = []
    queue = ReviewQueue(sample_lab, on_pick=opened.append)
    want = sample_lab.unreviewed_flags()["conversation_id"].to_list()
    assert list(queue.ids) == want and set(ids) <= set(queue.ids)
    assert f"<b>{len(want)}</b> unreviewed flag(s)" in queue.count.value
    _send(queue, event="select", id=ids[1])
    assert opened == [ids[1]]
    _send(queue, event="select", id="not-in-the-queue")  # stale or forged: ignored
    _send(queue, event="select", id=["a", "list"])
    _send(queue, event="nonsense")
    assert opened == [ids[1]]
    confirm_flag(sample_lab, flags[1], reviewer="qa")
    queue.refresh()
    assert ids[1] not in queue.ids and len(queue.ids) == len(want) - 1
    _send(queue, event="select", id=ids[1])  # a pick that raced the refresh opens nothing
    assert opened == [ids[1]]


def test_queue_entries_are_escaped() -> None:
    html = render_queue([{"conversation_id": '<img src=x onerror="alert(1)">', "criterion": "<b>x</b>",
                          "severity": "high"}])
    assert "<img" not in html and "<b>x" not in html
    assert 'data-id="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"' in html


def test_a_failed_pick_is_shown_in_the_queue(sample_lab) -> None:
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    add_manual_flag(sample_lab, cid, "needs_look", reason="planted", reviewer="setup")

    def broken(_cid: str) -> None:
        raise RuntimeError("detail view gone")

    queue = ReviewQueue(sample_lab, on_pick=broken)
    _send(queue, event="select", id=cid)
    assert "<b>Open failed:</b>" in queue.message.value and "detail view gone" in queue.message.value
