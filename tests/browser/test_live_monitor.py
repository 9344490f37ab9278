"""The live monitor dashboard in real Voila, driven in Debian's chromium: take over one call, end another."""

from __future__ import annotations

import pytest

import convolab

pytestmark = pytest.mark.browser

ROWS = ".convolab-live-table tr[data-call-id]"


@pytest.fixture
def live_url(voila_server, tmp_path_factory, monkeypatch):
    # Slow playback so calls are still in progress while the browser acts; its own store,
    # because the QA dashboard's kernel may hold the shared browser store's lock.
    monkeypatch.setenv("CONVOLAB_LIVE_SPEED", "0.5")
    monkeypatch.setenv("CONVOLAB_LIVE_CALLS", "3")
    monkeypatch.setenv("CONVOLAB_LIVE_POST_SCORING", "0")
    monkeypatch.setenv("CONVOLAB_USER", "browser-supervisor")
    db = tmp_path_factory.mktemp("live-store") / "live.duckdb"
    convolab.open(db).close()  # an empty store: `convolab serve` serves existing stores only
    return voila_server("live_monitor", db=db), db


def act(page, call_id: str, action: str) -> None:
    page.locator(".convolab-live-call select").select_option(label=f"{call_id} (in_progress, ai)")
    page.wait_for_selector(f".convolab-live-transcript h4:has-text('{call_id}')")
    page.locator(".convolab-live-action select").select_option(label=action)
    page.locator("button.convolab-live-run").click()


def test_take_over_one_call_and_end_another(page, live_url, screenshot) -> None:
    url, db = live_url
    page.goto(url)
    page.wait_for_selector(ROWS, timeout=180_000)
    screenshot("loaded")
    rows = page.locator(ROWS)
    assert rows.count() == 3
    first, second = rows.nth(0).get_attribute("data-call-id"), rows.nth(1).get_attribute("data-call-id")
    assert rows.nth(0).get_attribute("data-handler") == "ai"

    act(page, first, "Take Over")
    page.wait_for_selector(f'tr[data-call-id="{first}"][data-handler="supervisor"]')
    assert "done" in page.locator(".convolab-live-status").inner_text()
    options = [o.replace("\xa0", " ") for o in page.locator(".convolab-live-action select option").all_inner_texts()]
    assert options == ["Hand Back", "Transfer…", "Enqueue", "End"]
    screenshot("taken-over")

    act(page, second, "End")
    page.wait_for_selector("button.convolab-live-confirm", state="visible")
    assert page.locator(f'tr[data-call-id="{second}"]').get_attribute("data-status") == "in_progress"
    page.locator("button.convolab-live-confirm").click()
    page.wait_for_selector(f'tr[data-call-id="{second}"][data-status="completed"]')
    assert page.locator(".convolab-live-action select option").count() == 0
    screenshot("ended")
