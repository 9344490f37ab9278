"""The manager report dashboard in real Voila, driven in Debian's chromium: change the period and a
filter, see the figures change, click a figure and a chart bar, see the conversations behind them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import convolab
from convolab.generate import write_conversations

pytestmark = pytest.mark.browser

TILE = ".cl-report-headline [data-kpi='{}']"
ROWS = ".cl-report-table .cl-table-html table tbody tr"
FLOW = "Billing Chat"


@pytest.fixture(scope="module")
def report_store(tmp_path_factory) -> Path:
    """Its own store (the dashboard holds it read-only; the QA tests write to theirs): 600
    conversations over two months, flagged by the built-in criteria, one with a human agent."""
    root = tmp_path_factory.mktemp("manager-report-store")
    src = write_conversations(root / "sample.jsonl", 600, seed=5)
    with src.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({
            "id": "c-human", "flow": FLOW, "platform": "web", "contact": "someone@example.com",
            "status": "completed", "started_at": "2026-11-20T09:00:00Z", "ended_at": "2026-11-20T09:03:00Z",
            "messages": [{"role": "customer", "text": "hello", "at": "2026-11-20T09:00:01Z"},
                         {"role": "human_agent", "text": "Sam here, I'll help.", "at": "2026-11-20T09:01:00Z"}],
        }) + "\n")
    db = root / "report.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
    done = subprocess.run([sys.executable, "-m", "convolab", "flag", "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return db


def figures(db: Path, *, days: int | None = None, flow: str | None = None) -> dict[str, int]:
    """Independent counts: conversations, and per status, in the last ``days`` days of the store."""
    # The page opens the store for each action: wait for one in progress instead of failing.
    with convolab.open(db, read_only=True, wait=30) as lab:
        last = lab.execute("SELECT max(started_at)::DATE FROM conversations").scalar()
        clauses, params = ["TRUE"], []
        if days:
            clauses.append("started_at >= ? AND started_at < ?")
            params += [last - timedelta(days=days - 1), last + timedelta(days=1)]
        if flow:
            clauses.append("flow = ?")
            params.append(flow)
        where = " AND ".join(clauses)
        rows = lab.execute(f"SELECT status, count(*) FROM conversations WHERE {where} GROUP BY 1",  # noqa: S608
                           params).fetchall()
    out = dict(rows)
    out["conversations"] = sum(out.values())
    return out


def tile_value(page, name: str) -> str:
    return page.locator(TILE.format(name)).get_attribute("data-value")


def wait_for_tile(page, name: str, value: float) -> None:
    page.wait_for_function(
        f"""() => {{ const t = document.querySelector("{TILE.format(name)}");
            return t && Math.abs(parseFloat(t.dataset.value) - {value}) < 1e-9; }}""", timeout=120_000)


def wait_for_rows(page, status: str, total: int) -> None:
    """The table lists ``total`` conversations, every row of the page with ``status``."""
    page.wait_for_function(
        f"""() => {{ const rows = [...document.querySelectorAll("{ROWS}")];
            const label = [...document.querySelectorAll('.cl-report-table .widget-label')].map(l => l.textContent)
                          .find(t => t.includes(' of '));
            return rows.length > 0 && rows.every(r => r.querySelector('.cl-status').textContent === '{status}')
                   && label && label.endsWith(' of {total:,}'); }}""", timeout=120_000)


def test_period_filter_and_drill_down(page, voila_server, report_store, screenshot) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(voila_server("manager_report", db=report_store))
    everything = figures(report_store)
    wait_for_tile(page, "conversations", everything["conversations"])
    page.wait_for_selector(".cl-report-chart[data-chart='statuses'] .main-svg")
    assert page.locator(".cl-report-chart .main-svg").count() >= 8
    assert "not compared" in page.locator(".cl-report-summary").inner_text()
    screenshot("loaded")

    # A period: the figures change to the last 30 days, compared with the 30 before.
    page.locator(".widget-dropdown:has(label:text-is('Period')) select").select_option(label="Last 30 days")
    last30 = figures(report_store, days=30)
    assert last30["conversations"] < everything["conversations"]
    wait_for_tile(page, "conversations", last30["conversations"])
    assert "before" in page.locator(TILE.format("conversations")).inner_text()

    # A filter: one flow.
    page.locator(".cl-report .widget-dropdown:has(label:text-is('Flow')) select").first.select_option(FLOW)
    flow30 = figures(report_store, days=30, flow=FLOW)
    wait_for_tile(page, "conversations", flow30["conversations"])
    wait_for_tile(page, "transfer_rate", flow30.get("transferred", 0) / flow30["conversations"])
    screenshot("filtered")

    # Click a figure: the conversations behind it.
    page.locator(TILE.format("transfer_rate")).click()
    wait_for_rows(page, "transferred", flow30["transferred"])
    page.wait_for_selector(".cl-report-drill:has-text('Transferred to a human')")
    assert all(f == FLOW for f in page.locator(f"{ROWS} td:nth-child(2)").all_inner_texts())
    # the table's own controls show the drill-down's filters
    table_flow = page.locator(".cl-report-table .widget-dropdown:has(label:text-is('Flow')) select")
    assert table_flow.evaluate("s => s.options[s.selectedIndex].textContent").replace("\xa0", " ") == FLOW
    page.locator(".cl-report-table").scroll_into_view_if_needed()
    screenshot("drill-kpi")

    # Click a chart bar: the status mix's first bar is its largest status, "completed".
    bar = page.locator(".cl-report-chart[data-chart='statuses'] .barlayer .trace").first.locator("path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_for_rows(page, "completed", flow30["completed"])
    page.wait_for_selector(".cl-report-drill:has-text('status: completed')")
    page.locator(".cl-report-table").scroll_into_view_if_needed()
    screenshot("drill-bar")
