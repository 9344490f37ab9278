"""A click that fails shows why in the widget (ipywidgets would only write it to the kernel log).

The failures are real: the store's connection is closed under the widget, or a
conversation is deleted by someone else while it is on screen.
"""

from __future__ import annotations

import pytest

from convolab.flags.review import add_manual_flag
from convolab.widgets import ConversationDetail, ConversationTable
from convolab.widgets._feedback import error_html, reporting


@pytest.fixture
def flagged(sample_lab):
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    add_manual_flag(sample_lab, cid, "manual_check", reason="why", severity="high")  # an id on either backend
    return sample_lab, cid


def _detail(lab, cid: str) -> ConversationDetail:
    detail = ConversationDetail(lab, reviewer="qa")
    detail.show(cid)
    return detail


@pytest.mark.parametrize("action", ["Confirm", "Dismiss", "Add flag", "Delete"])
def test_detail_actions_show_their_failure(flagged, action):
    lab, cid = flagged
    detail = _detail(lab, cid)
    confirm, dismiss = detail.flag_box.children[0].children[2:]
    detail.new_criterion.value = "looks_wrong"
    lab.close()  # the store goes away under the open detail view
    button = {"Confirm": confirm, "Dismiss": dismiss, "Add flag": detail.add_button,
              "Delete": detail.confirm_delete}[action]
    button.click()
    assert detail.message.value.startswith(f'<span class="cl-error" style="color:#c62828"><b>{action} failed:</b> ')
    assert "closed" in detail.message.value.lower()
    assert detail.layout.display == "flex"  # still on screen, with the reason


def test_deleting_a_conversation_someone_else_deleted_says_so(flagged):
    lab, cid = flagged
    detail = _detail(lab, cid)
    lab.delete(cid)  # another reviewer, a moment earlier
    detail.confirm_delete.click()
    assert f"Delete failed:</b> no conversation with id &#x27;{cid}&#x27;" in detail.message.value


def test_one_failing_export_format_leaves_the_others(flagged, monkeypatch):
    lab, cid = flagged
    real = lab.export

    def export(conversation_id, fmt="txt"):
        if fmt == "csv":
            raise OSError("disk full")
        return real(conversation_id, fmt)

    monkeypatch.setattr(lab, "export", export)
    detail = _detail(lab, cid)
    assert "Export Transcript (CSV) failed: disk full" in detail.downloads.value
    assert "Export Transcript (TXT)" in detail.downloads.value and "Export Transcript (JSON)" in detail.downloads.value


def test_table_filters_and_paging_show_their_failure(sample_lab):
    table = ConversationTable(sample_lab, page_size=10)
    sample_lab.close()
    table.status.value = "failed"
    assert table.message.value.startswith('<span class="cl-error" style="color:#c62828"><b>Filter failed:</b>')
    table.message.value = ""
    table.next_button.click()
    assert "<b>Next page failed:</b>" in table.message.value


def test_opening_a_row_that_was_deleted_meanwhile_says_so(sample_lab):
    detail = ConversationDetail(sample_lab)
    table = ConversationTable(sample_lab, page_size=10, on_select=detail.show)
    cid = table.row_ids[0]
    sample_lab.delete(cid)
    table.html._handle_custom_msg({"event": "select", "id": cid}, [])  # the reviewer clicks the row
    # the detail view opens it, and says why it cannot (no traceback, no silent nothing)
    assert f"Could not open {cid}: no conversation with id" in detail.message.value
    table.refresh()
    assert table.message.value == "" and cid not in table.row_ids


def test_flag_tuner_slider_failure_is_shown(sample_lab):
    from convolab.widgets import FlagTuner

    tuner = FlagTuner(sample_lab)
    slider = next(s for s in tuner.sliders.children)
    sample_lab.close()
    slider.value = slider.value + 1 if slider.value + 1 <= slider.max else slider.min
    assert f"<b>Setting {slider.description} failed:</b>" in tuner.message.value


def test_reporting_escapes_and_passes_results_through():
    shown: list[str] = []
    ok = reporting(shown.append, "Go", lambda x: x * 2)
    assert ok(4) == 8 and shown == []
    bad = reporting(shown.append, "Go", lambda: (_ for _ in ()).throw(KeyError("<b>x</b>")))
    assert bad() is None
    assert shown == [error_html("Go", KeyError("<b>x</b>"))]
    assert "&lt;b&gt;x&lt;/b&gt;" in shown[0] and "'" not in shown[0].split("</b>", 1)[1]
