"""The report widgets in the kernel: tiles, chart clicks and controls drive the table (plumbing;
the browser test drives the same in Voila)."""

from __future__ import annotations

import json

import pytest

from convolab.widgets.report import ReportDashboard


@pytest.fixture
def dashboard(small_store):
    lab = small_store(n=300)
    lab.executemany("INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)"
                    " VALUES (?, 'manual_check', 'low', 'x', 'manual', now())",
                    [(r[0],) for r in lab.execute("SELECT id FROM conversations ORDER BY id LIMIT 7").fetchall()])
    return ReportDashboard(lab), lab


def statuses(table) -> set[str]:
    return {r["status"] for r in table.lab.list_conversations(table.filters(), limit=None).to_dicts()}


def test_opens_on_everything_and_lists_it(dashboard) -> None:
    d, lab = dashboard
    assert d.report.total == 300 == d.table.total
    assert 'data-kpi="conversations"' in d.tiles.value and 'data-kpi="flag_rate_manual_check"' in d.flag_tiles.value
    figures = json.loads(d.charts.figures)
    assert {f["id"] for f in figures} >= {"volume", "statuses", "outcomes", "flags", "functions"}
    assert all(f["figure"]["layout"]["title"]["text"] for f in figures)


def test_a_tile_click_lists_its_conversations(dashboard) -> None:
    d, lab = dashboard
    d._on_tile_msg(None, {"event": "kpi", "name": "transfer_rate"}, [])
    assert d.table.total == round(d.report.kpi("transfer_rate") * 300) > 0
    assert statuses(d.table) == {"transferred"} and d.table.status.value == "transferred"
    d._on_tile_msg(None, {"event": "kpi", "name": "flag_rate_manual_check"}, [])
    assert d.table.total == 7 and d.table.extra == {"criterion": "manual_check"}
    before = d.table.total
    for bogus in ({"event": "kpi", "name": "nope"}, {"event": "kpi"}, "text", {"event": "other", "name": "x"}):
        d._on_tile_msg(None, bogus, [])
    assert d.table.total == before


def test_a_bar_click_lists_its_conversations(dashboard) -> None:
    d, lab = dashboard
    chart = next(c for c in d._charts if c.id == "statuses")
    status = chart.keys[0][2]
    d._on_chart_msg(None, {"event": "click", "chart": "statuses", "trace": 0, "point": 2}, [])
    assert statuses(d.table) == {status}
    assert d.table.total == lab.count_conversations(status=status)
    before = d.table.filters()
    for bogus in ({"event": "click", "chart": "statuses", "trace": 0, "point": 99},
                  {"event": "click", "chart": "outcomes", "trace": 0, "point": 0},
                  {"event": "click", "chart": "statuses", "trace": "0", "point": 0}, None):
        d._on_chart_msg(None, bogus, [])
    assert d.table.filters() == before


def test_controls_rebuild_the_report(dashboard) -> None:
    d, lab = dashboard
    d.preset.value = "7"
    assert d.report.period.days == 7 and d.report.period.has_previous
    assert d.since.value == d.report.period.start
    assert d.table.total == d.report.total < 300
    d.flow.value = d.flow.options[1]
    assert d.report.flow == (d.flow.options[1],)
    assert d.table.flow.value == d.flow.options[1]
    d.preset.value = "custom"
    d.since.value, d.until.value = d.until.value, d.since.value  # From after To
    assert "after it ends" in d.summary.value
