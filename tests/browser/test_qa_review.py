"""The QA review dashboard in real Voila, driven in Debian's chromium."""

from __future__ import annotations

import pytest

from convolab.conversations import DETAIL_FIELDS

from .conftest import XSS_ID, XSS_IMG, XSS_SCRIPT

pytestmark = pytest.mark.browser

ROWS = ".cl-table-html table tbody tr"


def dropdown(page, label: str):
    return page.locator(f".widget-dropdown:has(label:text-is('{label}')) select")


def open_dashboard(page, voila_server) -> None:
    page.goto(voila_server("qa_review"))
    page.wait_for_selector(ROWS, timeout=120_000)


def open_row(page, conversation_id: str) -> None:
    page.locator(".cl-rows select").select_option(label=conversation_id)
    page.wait_for_selector(f".cl-detail-view h3:has-text('{conversation_id}')")


def test_page_loads_with_flagged_rows_first(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    headers = page.locator(".cl-table-html th").all_inner_texts()
    assert [h.rstrip(" ▲▼") for h in headers][:2] == ["ID", "Flow"] and headers[-1].startswith("Tags")
    assert page.locator(ROWS).count() == 4  # the review queue: flagged conversations only
    assert page.locator(".cl-queue select option").count() == 4
    screenshot("loaded")


def test_status_filter_narrows_rows(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    dropdown(page, "Flagged").select_option(label="(any)")
    page.wait_for_function(f"document.querySelectorAll('{ROWS}').length == 50")
    dropdown(page, "Status").select_option("abandoned")
    page.wait_for_function(
        f"""() => {{ const rows = [...document.querySelectorAll('{ROWS}')];
            return rows.length > 0 && rows.length < 50
                && rows.every(r => r.querySelector('.cl-status').textContent === 'abandoned'); }}"""
    )
    screenshot("abandoned")


def test_row_click_shows_detail_fields_in_order(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    first = page.locator(ROWS).first.get_attribute("data-id")
    open_row(page, first)
    assert tuple(page.locator(".cl-fields dt").all_inner_texts()) == DETAIL_FIELDS
    assert page.locator(".cl-transcript .cl-msg").count() > 0
    screenshot("detail")


def test_confirming_a_flag_persists_after_reload(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    target = page.locator(".cl-rows select option").nth(1).inner_text()
    open_row(page, target)
    page.locator(".cl-detail-view .widget-text input[placeholder='note']").first.fill("agreed in browser test")
    page.locator(".cl-detail-view button:text-is('Confirm')").first.click()
    page.wait_for_selector(".cl-flag-state:has-text('confirmed')")
    page.reload()
    page.wait_for_selector(ROWS, timeout=120_000)
    open_row(page, target)
    page.wait_for_selector(".cl-flag-state:has-text('confirmed')")
    assert "confirmed" in page.locator(".cl-fields").inner_text()
    screenshot("confirmed")


def test_export_downloads_the_transcript(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    target = page.locator(".cl-rows select option").nth(2).inner_text()
    open_row(page, target)
    page.locator(".cl-detail-view button:has-text('⋯')").click()
    link = page.locator("a.cl-download:has-text('TXT')")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"{target}.txt"
    content = open(download.path(), encoding="utf-8").read()
    messages = page.locator(".cl-transcript .cl-msg").evaluate_all(
        "els => els.map(e => e.childNodes[e.childNodes.length - 1].textContent)"
    )
    assert messages and all(m in content for m in messages)
    screenshot("export")


def test_script_in_conversation_text_executes_nothing(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    assert page.locator(f"{ROWS}[data-id='{XSS_ID}']").count() == 1
    open_row(page, XSS_ID)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    text = page.locator(".cl-detail-view").inner_text()
    assert XSS_SCRIPT in text and XSS_IMG in text
    assert XSS_IMG in page.locator(".cl-table-html").inner_text()
    assert page.locator(".cl-detail-view script, .cl-detail-view img, .cl-table-html img").count() == 0
    screenshot("xss")
