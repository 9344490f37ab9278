"""ConversationTable and ConversationDetail against a real DuckDB store (no browser)."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pytest

import convolab
from convolab.conversations import DETAIL_FIELDS
from convolab.flags import decide
from convolab.generate import write_conversations
from convolab.widgets import ConversationDetail, ConversationTable
from convolab.widgets._html import TABLE_HEADERS, esc

PAYLOADS = ('<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=1">')


def hostile_record() -> dict:
    """A conversation whose every free-text field carries an XSS payload."""
    s, i = PAYLOADS
    return {
        "id": "c-evil", "flow": f"Evil {s}", "platform": "web", "contact": f"{i}", "contact_id": i,
        "status": "completed", "started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T10:01:00Z",
        "summary": s, "analysis": i, "tags": {"call_reason": s, "issue": i}, "parameters": {"k": s},
        "messages": [{"role": "customer", "text": f"hello {s} {i}", "at": "2026-11-20T10:00:01Z"},
                     {"role": "agent", "text": f"reply {i}", "at": "2026-11-20T10:00:05Z"}],
        "functions": [{"name": "lookup", "arguments": {"q": s}, "output": {"html": i}, "status": "error",
                       "at": "2026-11-20T10:00:10Z"}],
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    root = tmp_path_factory.mktemp("widgets")
    src = write_conversations(root / "sample.jsonl", 120, seed=7)
    with src.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(hostile_record()) + "\n")
    db = root / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
        lab.execute(
            "INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)"
            " VALUES ('c-evil', 'xss', 'high', ?, 'manual', now()::TIMESTAMP)", [PAYLOADS[0]])
    return db


@pytest.fixture
def lab(store: Path):
    with convolab.open(store) as workbench:
        yield workbench


def no_live_markup(text: str) -> None:
    assert "<script" not in text.lower()
    assert "<img" not in text.lower()


def test_table_columns_in_contract_order(lab) -> None:
    table = ConversationTable(lab)
    headers = re.findall(r"<th data-col=[^>]*>([^<▲▼]*)", table.html.value)
    assert [h.strip() for h in headers] == [label for label, _, _ in TABLE_HEADERS]
    assert headers[0] == "ID" and headers[-1] == "Tags"
    assert table.total == 121
    assert len(table.row_ids) == 50
    assert table.html.value.count("<tr data-id=") == 50


def test_table_paging_filters_and_sort(lab) -> None:
    table = ConversationTable(lab, page_size=50)
    table.go(2)
    assert len(table.row_ids) == 21 and table.next_button.disabled
    table.status.value = "failed"
    assert table.page == 0
    n = lab.count_conversations(status="failed")
    assert table.total == n and len(table.row_ids) == min(50, n)
    assert all(s == "failed" for s in lab.list_conversations(status="failed")["status"])
    table.status.value = "(any)"
    table.sort.value = "id"
    table.descending.value = False
    assert table.row_ids[0] == min(lab.list_conversations(limit=None)["id"])
    table.search.value = "window.__pwned"
    assert table.row_ids == ("c-evil",)


def test_row_selection_opens_detail(lab) -> None:
    detail = ConversationDetail(lab)
    table = ConversationTable(lab, on_select=detail.show)
    first = table.row_ids[0]
    table.select(first)
    assert table.selected == first and detail.conversation_id == first
    assert 'class="cl-selected"' in table.html.value
    fields = re.findall(r'<dt data-field="([^"]+)"', detail.fields.value)
    assert tuple(fields) == DETAIL_FIELDS


def test_detail_escapes_untrusted_text(lab) -> None:
    table = ConversationTable(lab, sort="date")
    table.search.value = "pwned"
    no_live_markup(table.html.value)
    assert esc(PAYLOADS[1]) in table.html.value
    detail = ConversationDetail(lab)
    detail.show("c-evil")
    for w in (detail.title, detail.fields, detail.transcript, detail.functions):
        no_live_markup(w.value)
    assert html.escape(PAYLOADS[0]) in detail.transcript.value
    assert "cl-fn-failed" in detail.functions.value
    for box in detail.flag_box.children:
        no_live_markup(box.children[0].value)


def test_export_links_are_data_uris(lab) -> None:
    detail = ConversationDetail(lab)
    detail.show("c-evil")
    links = re.findall(r'download="([^"]+)" href="data:([^;]+);base64,([^"]+)"', detail.downloads.value)
    assert [n for n, _, _ in links] == ["c-evil.txt", "c-evil.json", "c-evil.csv"]
    assert base64.b64decode(links[0][2]) == lab.export("c-evil", "txt")


def test_flag_decision_persists_and_delete_refreshes(lab) -> None:
    changed: list[str] = []
    table = ConversationTable(lab)
    detail = ConversationDetail(lab, reviewer="qa1", on_change=lambda cid: (changed.append(cid), table.refresh()))
    detail.show("c-evil")
    flag_id = lab.list_flags(conversation_id="c-evil")["flag_id"][0]
    confirm = detail.flag_box.children[0].children[2]
    detail.flag_box.children[0].children[1].value = "looks real"
    confirm.click()
    flags = lab.list_flags(conversation_id="c-evil")
    assert flags["decision"][0] == "confirmed" and flags["note"][0] == "looks real"
    decide(lab, int(flag_id), "dismissed", reviewer="qa2", note=None)
    assert lab.list_flags(conversation_id="c-evil")["decision"][0] == "dismissed"
    detail.new_criterion.value = "manual_check"
    detail.add_button.click()
    assert "manual_check" in set(lab.list_flags(conversation_id="c-evil")["criterion"])
    before = table.total
    detail.show("c-evil")
    detail.delete_button.click()
    detail.confirm_delete.click()
    assert changed[-1] == "c-evil" and table.total == before - 1
    assert lab.count_conversations(search="pwned") == 0


def test_widgets_module_is_lazy() -> None:
    import convolab.widgets as w

    assert set(w.__all__) >= {"ConversationTable", "ConversationDetail"}
    with pytest.raises(AttributeError):
        w.Nope  # noqa: B018


def test_detail_shows_sentiment_and_message_emotions_when_scored(lab) -> None:
    cid = lab.list_conversations(limit=1, sort="id", descending=False)["id"][0]
    lab.execute(
        "INSERT INTO message_emotions (model_id, text_hash, context_hash, emotions, polarity, sentiment, scored_at)"
        " SELECT DISTINCT 'm1', md5(text), context_hash, ['annoyance'], 'negative', -0.4, now()::TIMESTAMP"
        " FROM message_contexts WHERE conversation_id = ? AND role = 'customer'",
        [cid],
    )
    lab.execute(
        "INSERT INTO conversation_emotions (conversation_id, model_id, n_messages, top_emotions, top_scores,"
        " polarity, sentiment, trend, refreshed_at)"
        " VALUES (?, 'm1', 2, ['annoyance', 'curiosity', 'gratitude'], [0.5, 0.2, 0.1], 'negative', -0.4,"
        " 'unchanged', now()::TIMESTAMP)",
        [cid],
    )
    detail = ConversationDetail(lab)
    detail.show(cid)
    assert "annoyance (0.50)" in detail.fields.value and "curiosity" in detail.fields.value
    assert 'class="cl-emo">annoyance<' in detail.transcript.value
    (chart,) = detail.chart.children
    assert type(chart).__name__ == "FigureWidget"  # needs anywidget (widgets extra), else a text sparkline
    assert chart.data[0].y and all(y == pytest.approx(-0.4) for y in chart.data[0].y)


def _click(table, **content) -> None:
    """What the table view's front end sends on a header or row click."""
    table.html._handle_custom_msg(content, [])


def _header_arrows(html_text: str) -> dict[str, str]:
    return dict(re.findall(r'<th data-col="[^"]+" data-sort="([^"]+)"[^>]*>[^<]*?([▲▼])</th>', html_text))


def test_header_click_sorts_in_duckdb_and_flips_direction(lab) -> None:
    table = ConversationTable(lab)
    table.go(1)
    _click(table, event="sort", key="duration")  # a new column: longest first
    assert (table.sort.value, table.descending.value, table.page) == ("duration", True, 0)
    assert _header_arrows(table.html.value) == {"duration": "▼"}
    want = lab.list_conversations(sort="duration", descending=True, limit=50)["id"].to_list()
    assert list(table.row_ids) == want
    _click(table, event="sort", key="duration")  # the same column again: flipped
    assert table.descending.value is False and _header_arrows(table.html.value) == {"duration": "▲"}
    page = lab.list_conversations(sort="duration", descending=False, limit=50)
    assert list(table.row_ids) == page["id"].to_list()
    assert page["duration_s"].to_list() == sorted(page["duration_s"].to_list())
    assert 'aria-sort="ascending"' in table.html.value and table.descending.description == "▲ asc"
    _click(table, event="sort", key="flow")  # text columns start A to Z
    assert (table.sort.value, table.descending.value) == ("flow", False)
    assert _header_arrows(table.html.value) == {"flow": "▲"}
    flows = [lab.conversation(cid)["flow"] for cid in table.row_ids]
    assert flows == sorted(flows)
    before, total = table.html.value, lab.count_conversations()
    _click(table, event="sort", key="tags")  # not sortable
    _click(table, event="sort", key="id; DROP TABLE conversations")
    _click(table, event="nonsense")
    assert table.html.value == before and lab.count_conversations() == total
    with pytest.raises(ValueError, match="cannot sort by"):
        table.sort_by("tags")


def test_row_click_selects_only_rows_on_the_page(lab) -> None:
    opened: list[str] = []
    table = ConversationTable(lab, on_select=opened.append)
    target = table.row_ids[3]
    _click(table, event="select", id=target)
    assert opened == [target] and table.selected == target
    assert f'<tr data-id="{target}" tabindex="0" class="cl-selected">' in table.html.value
    _click(table, event="select", id="not-on-this-page")
    assert opened == [target]
