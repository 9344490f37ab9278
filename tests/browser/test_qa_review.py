"""The QA review dashboard in real Voila, driven in Debian's chromium."""

from __future__ import annotations

import pytest

from convolab.conversations import DETAIL_FIELDS

from .conftest import (
    DELETE_ID,
    DELETE_PHRASE,
    RECORDED_ID,
    RECORDED_PHRASE,
    RECORDING,
    XSS_ID,
    XSS_IMG,
    XSS_SCRIPT,
)

pytestmark = pytest.mark.browser

ROWS = ".cl-table-html table tbody tr"


def dropdown(page, label: str):
    return page.locator(f".widget-dropdown:has(label:text-is('{label}')) select")


def open_dashboard(page, voila_server) -> None:
    page.goto(voila_server("qa_review"))
    page.wait_for_selector(ROWS, timeout=120_000)


def open_row(page, conversation_id: str) -> None:
    """Open a row by clicking it in the table; the click names the row by its id."""
    page.locator(f"{ROWS}[data-id='{conversation_id}']").click()
    page.wait_for_selector(f".cl-detail-view h3:has-text('{conversation_id}')", timeout=30_000)


def row_id(page, n: int) -> str:
    """The id of the table's ``n``-th row (0-based)."""
    return page.locator(ROWS).nth(n).get_attribute("data-id")


def show_all(page) -> None:
    """Leave the flagged queue: every conversation, a full first page."""
    dropdown(page, "Flagged").select_option(label="(any)")
    page.wait_for_function(f"document.querySelectorAll('{ROWS}').length == 50")


def find(page, phrase: str, conversation_id: str) -> None:
    """Show every conversation, search the transcripts for ``phrase``, wait for its single row."""
    show_all(page)
    search = page.locator(".widget-text:has(label:text-is('Search')) input")
    search.fill(phrase)
    search.press("Enter")
    page.wait_for_function(
        f"""() => {{ const rows = [...document.querySelectorAll('{ROWS}')];
            return rows.length == 1 && rows[0].dataset.id == '{conversation_id}'; }}"""
    )


def click_row(page, conversation_id: str) -> None:
    """Open a conversation by clicking its row in the table itself."""
    page.locator(f"{ROWS}[data-id='{conversation_id}'] td").nth(1).click()
    page.wait_for_selector(f".cl-detail-view h3:has-text('{conversation_id}')")


def download_from_menu(page, link: str):
    """Open the detail view's ⋯ menu, click a download link, return the browser's download."""
    page.locator(".cl-detail-view button:has-text('⋯')").click()
    target = page.locator(link)
    target.wait_for()
    with page.expect_download() as info:
        target.click()
    return info.value


def seconds(text: str) -> int:
    """The table's ``m:ss`` / ``h:mm:ss`` duration as seconds."""
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


def durations(page) -> list[int]:
    return [seconds(t) for t in page.locator(f"{ROWS} td:nth-child(6)").all_inner_texts()]


def test_page_loads_with_flagged_rows_first(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    headers = page.locator(".cl-table-html th").all_inner_texts()
    assert [h.rstrip(" ▲▼") for h in headers][:2] == ["ID", "Flow"] and headers[-1].startswith("Tags")
    assert page.locator(ROWS).count() == 4  # the review queue: flagged conversations only
    assert page.locator(".cl-queue tr[data-id]").count() == 4
    screenshot("loaded")


def test_a_queue_pick_opens_the_conversation(page, voila_server) -> None:
    open_dashboard(page, voila_server)
    entry = page.locator(".cl-queue tr[data-id]").nth(1)
    cid = entry.get_attribute("data-id")
    entry.click()
    page.wait_for_selector(f".cl-detail-view h3:has-text('{cid}')", timeout=30_000)
    page.wait_for_selector(f"{ROWS}.cl-selected[data-id='{cid}']")


def test_status_filter_narrows_rows(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    show_all(page)
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


def test_rows_open_from_the_keyboard(page, voila_server) -> None:
    open_dashboard(page, voila_server)
    first, second = row_id(page, 0), row_id(page, 1)
    page.locator(f"{ROWS}[data-id='{first}']").focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.id") == second
    page.keyboard.press("Enter")
    page.wait_for_selector(f".cl-detail-view h3:has-text('{second}')", timeout=30_000)
    # the redraw that marks the row selected leaves the keyboard where it was
    page.wait_for_selector(f"{ROWS}.cl-selected[data-id='{second}']")
    assert page.evaluate("document.activeElement.dataset.id") == second
    page.keyboard.press("ArrowUp")
    page.keyboard.press(" ")
    page.wait_for_selector(f".cl-detail-view h3:has-text('{first}')", timeout=30_000)


def test_confirming_a_flag_persists_after_reload(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    target = row_id(page, 1)
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
    target = row_id(page, 2)
    open_row(page, target)
    download = download_from_menu(page, "a.cl-download:has-text('TXT')")
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


def test_header_click_sorts_and_flips(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    show_all(page)
    header = page.locator(".cl-table-html th[data-sort='duration']")
    header.click()  # a new column: longest first
    page.wait_for_selector(".cl-table-html th[data-sort='duration'][aria-sort='descending']")
    assert header.inner_text().strip() == "Duration ▼"
    assert page.locator(".cl-table-html th:has-text('▲'), .cl-table-html th:has-text('▼')").count() == 1
    longest = durations(page)
    assert longest == sorted(longest, reverse=True)
    assert dropdown(page, "Sort").input_value() == "Duration"  # the Sort control follows the header
    screenshot("duration-desc")
    header.click()  # again: flipped, shortest first
    page.wait_for_selector(".cl-table-html th[data-sort='duration'][aria-sort='ascending']")
    assert header.inner_text().strip() == "Duration ▲"
    shortest = durations(page)
    assert shortest == sorted(shortest) and shortest[0] <= longest[-1]
    page.locator(".cl-table-html th[data-sort='id']").click()  # another column: A to Z
    page.wait_for_selector(".cl-table-html th[data-sort='id'][aria-sort='ascending']")
    ids = page.locator(f"{ROWS}").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == sorted(ids)
    assert "▲" not in page.locator(".cl-table-html th[data-sort='duration']").inner_text()
    screenshot("id-asc")


def test_sentiment_chart_renders_for_a_scored_conversation(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    find(page, RECORDED_PHRASE, RECORDED_ID)
    click_row(page, RECORDED_ID)
    assert "annoyance (0.30)" in page.locator(".cl-fields").inner_text()
    plot = page.locator(".cl-detail-view .js-plotly-plot")
    plot.wait_for()
    assert page.locator(".cl-detail-view .js-plotly-plot .scatterlayer .trace").count() == 1
    assert page.locator(".cl-detail-view .js-plotly-plot .scatterlayer .point").count() == 3  # customer lines
    assert "Customer sentiment" in plot.inner_text()
    plot.scroll_into_view_if_needed()
    screenshot("chart")


def test_download_audio_is_the_recording(page, voila_server, browser_store, screenshot) -> None:
    open_dashboard(page, voila_server)
    find(page, RECORDED_PHRASE, RECORDED_ID)
    click_row(page, RECORDED_ID)
    download = download_from_menu(page, "a.cl-download:text-is('Download Audio')")
    assert download.suggested_filename == "c-recorded.wav"
    with open(download.path(), "rb") as fh:
        assert fh.read() == (browser_store.parent / RECORDING).read_bytes()
    screenshot("audio")


def test_delete_from_menu_removes_the_row_for_good(page, voila_server, screenshot) -> None:
    open_dashboard(page, voila_server)
    find(page, DELETE_PHRASE, DELETE_ID)
    click_row(page, DELETE_ID)
    page.locator(".cl-detail-view button:has-text('⋯')").click()
    page.locator(".cl-detail-view button:text-is('Delete')").click()
    confirm = page.locator(".cl-detail-view :text('Delete this conversation for good?')")
    confirm.wait_for()
    assert page.locator(f"{ROWS}[data-id='{DELETE_ID}']").count() == 1  # nothing happens before confirming
    screenshot("confirm")
    page.locator(".cl-detail-view button:text-is('Confirm delete')").click()
    page.wait_for_selector(f"{ROWS}[data-id='{DELETE_ID}']", state="detached")
    page.wait_for_selector(".cl-detail-view", state="hidden")
    assert page.locator(ROWS).count() == 0
    screenshot("deleted")
    page.reload()
    page.wait_for_selector(ROWS, timeout=120_000)
    show_all(page)
    search = page.locator(".widget-text:has(label:text-is('Search')) input")
    search.fill(DELETE_PHRASE)
    search.press("Enter")
    page.wait_for_selector(".widget-label:text-is('0–0 of 0')")
    assert page.locator(ROWS).count() == 0
    screenshot("gone-after-reload")
