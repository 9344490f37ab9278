"""Serving safely, in Debian's chromium against the real `convolab serve`:

- two reviewers with two identities, in two browser sessions (two kernels), decide different
  flags at the same time while `convolab ingest` loads more; every decision is stored with its
  reviewer, no page shows a lock error, and the new conversations appear after a refresh;
- a dropped connection shows "reconnecting" and keeps the click; a page whose kernel is gone
  is covered by a "reload the page" notice instead of dead buttons;
- a DNS-rebinding page and a page on another origin get nothing from the server;
- the QA dashboard at 1366x768 and 1920x1080: nothing cut off or overlapping.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import convolab
from convolab.flags import add_manual_flag
from convolab.generate import write_conversations
from tests.serving import TOKEN, start_serve, stop

from .conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, close, planted_record
from .test_qa_review import ROWS, find, open_row, row_id

pytestmark = pytest.mark.browser

ALICE = "alice-browser-token-0123456789"
BOB = "bob-browser-token-0123456789ab"
LATE_PHRASE = "my parcel arrived late again"


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"serving-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def build_store(target: str, root: Path) -> tuple[list[tuple[int, str]], Path]:
    """60 conversations, four planted manual flags; returns the flags and a file of 20 late arrivals."""
    src = write_conversations(root / "first.jsonl", 60, seed=21)
    with convolab.open(target) as lab:
        lab.ingest(src)
        ids = lab.list_conversations(limit=4, sort="id", descending=False)["id"].to_list()
        flags = [(add_manual_flag(lab, cid, "needs_look", reason="planted", reviewer="setup"), cid) for cid in ids]
    late = root / "late.jsonl"
    with late.open("w", encoding="utf-8") as fh:
        for n in range(20):
            record = planted_record(f"c-late-{n:03d}", LATE_PHRASE if n == 7 else f"late arrival {n}",
                                    started_at=f"2025-06-01T10:{n:02d}:00Z", ended_at=f"2025-06-01T10:{n:02d}:30Z")
            fh.write(json.dumps(record) + "\n")
    return flags, late


@pytest.fixture(params=["file", "team"])
def review_store(request, tmp_path: Path) -> tuple[str, list[tuple[int, str]], Path]:
    """The store two reviewers share: a DuckDB file (pages open it per click), or a team store
    (``ducklake:sqlite:``; each page keeps its own connection)."""
    if request.param == "team":
        target = f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}"
    else:
        target = str(tmp_path / "store.duckdb")
    flags, late = build_store(target, tmp_path)
    return target, flags, late


def decide_in_page(page, conversation_id: str, button: str, note: str) -> None:
    open_row(page, conversation_id)
    page.locator(".cl-detail-view .widget-text input[placeholder='note']").first.fill(note)
    page.locator(f".cl-detail-view button:text-is('{button}')").first.click()


def test_two_reviewers_decide_at_once_while_an_ingest_loads(chromium, review_store, tmp_path: Path) -> None:
    target, flags, late = review_store
    users = tmp_path / "team.yml"
    users.write_text(f"alice: {ALICE}\nbob: {BOB}\n")
    proc, port = start_serve("qa_review", target, tmp_path / "serve.log", users=users)
    base = f"http://127.0.0.1:{port}/"
    contexts = [chromium.new_context(viewport={"width": 1600, "height": 1000}) for _ in range(2)]
    alice, bob = (ctx.new_page() for ctx in contexts)
    try:
        for page, token in ((alice, ALICE), (bob, BOB)):
            page.set_default_timeout(120_000)
            page.goto(f"{base}?token={token}", wait_until="commit")  # both kernels start together
        for page, name in ((alice, "alice"), (bob, "bob")):
            page.wait_for_selector(ROWS, timeout=180_000)
            assert page.locator(".cl-reviewer").inner_text() == name
        (a1, a_cid), (b1, b_cid), (a2, a2_cid), (b2, b2_cid) = flags

        ingest = subprocess.Popen([sys.executable, "-m", "convolab", "ingest", str(late), "--db", target],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Clicks from both pages while the ingest runs: none waits for the other page.
        decide_in_page(alice, a_cid, "Confirm", "alice agrees")
        decide_in_page(bob, b_cid, "Dismiss", "bob disagrees")
        alice.wait_for_selector(".cl-flag-state:has-text('confirmed by alice')")
        bob.wait_for_selector(".cl-flag-state:has-text('dismissed by bob')")
        decide_in_page(bob, b2_cid, "Confirm", "")
        decide_in_page(alice, a2_cid, "Dismiss", "")
        bob.wait_for_selector(".cl-flag-state:has-text('confirmed by bob')")
        alice.wait_for_selector(".cl-flag-state:has-text('dismissed by alice')")
        out, err = ingest.communicate(timeout=300)
        assert ingest.returncode == 0, err
        shot(alice, "alice-decided")
        shot(bob, "bob-decided")
        for page in (alice, bob):
            assert page.locator(".cl-problem, .cl-error").count() == 0  # no lock error, no failed or unsaved click

        # A refresh shows what the ingest loaded.
        alice.reload()
        alice.wait_for_selector(ROWS, timeout=180_000)
        find(alice, LATE_PHRASE, "c-late-007")
        shot(alice, "alice-after-refresh")
    except Exception:
        for page, name in ((alice, "alice"), (bob, "bob")):
            shot(page, f"{name}-failed")  # what each reviewer saw when it went wrong
        raise
    finally:
        for ctx in contexts:
            close(ctx)
        stop(proc)

    with convolab.open(target) as lab:
        decided = {r["flag_id"]: (r["decision"], r["reviewer"]) for r in lab.list_flags().iter_rows(named=True)}
        assert decided[a1] == ("confirmed", "alice") and decided[a2] == ("dismissed", "alice")
        assert decided[b1] == ("dismissed", "bob") and decided[b2] == ("confirmed", "bob")
        audit = lab.list_audit(limit=50)
        assert sorted(audit.filter(action="confirm_flag")["actor"].to_list()) == ["alice", "bob"]
        assert sorted(audit.filter(action="dismiss_flag")["actor"].to_list()) == ["alice", "bob"]
        assert lab.count_conversations() == 80


def test_a_dropped_connection_keeps_the_click_and_a_gone_kernel_says_reload(page, voila_server) -> None:
    sockets: list = []
    allow = {"on": True}

    def relay(ws) -> None:  # the page's kernel websocket, through a switch the test can cut
        if not allow["on"]:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/api/kernels/*/channels*", relay)
    url = voila_server("qa_review")
    page.goto(url)
    page.wait_for_selector(ROWS, timeout=120_000)
    page.wait_for_function("document.body.dataset.clConnection === 'connected'")
    target = row_id(page, 2)
    open_row(page, target)

    allow["on"] = False  # the network drops; the kernel lives on
    for ws in sockets:
        ws.close()
    page.wait_for_function("document.body.dataset.clConnection === 'reconnecting'")
    bar = page.locator(".cl-connection-bar")
    assert bar.is_visible() and "reconnecting" in bar.inner_text()
    page.locator(".cl-detail-view button:text-is('Dismiss')").first.click()  # clicked while cut off
    shot(page, "reconnecting")
    allow["on"] = True  # the network is back: the held click reaches the kernel
    page.wait_for_function("document.body.dataset.clConnection === 'connected'", timeout=120_000)
    page.wait_for_selector(".cl-flag-state:has-text('dismissed')", timeout=60_000)
    assert not bar.is_visible()

    # The server loses the page's kernel (stopped, restarted): the page says so and blocks clicks.
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    base = url.split("?")[0]
    gone = page.request.delete(f"{base}api/kernels/{config['kernelId']}", headers={"Authorization": f"token {TOKEN}"})
    assert gone.status == 204
    page.wait_for_function("document.body.dataset.clConnection === 'gone'", timeout=60_000)
    overlay = page.locator(".cl-connection-overlay")
    assert overlay.is_visible() and "Reload the page" in overlay.inner_text()
    assert "was not saved" in overlay.inner_text()
    box = page.locator(".cl-detail-view button:text-is('Confirm')").first.bounding_box()
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.cl-connection-overlay') !== null",
                           [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert on_top, "the dead page's buttons must not be clickable"
    shot(page, "gone")
    page.locator(".cl-connection-reload").click()
    page.wait_for_selector(ROWS, timeout=120_000)
    page.wait_for_function("document.body.dataset.clConnection === 'connected'")


def test_a_dns_rebinding_page_gets_nothing(chromium, voila_server) -> None:
    """evil.example resolves to 127.0.0.1 (as a rebinding attacker arranges): its pages, with the
    token even, get a 403 and no dashboard."""
    port = voila_server("qa_review").split(":")[2].split("/")[0]
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"])
    try:
        page = browser.new_page()
        reply = page.goto(f"http://evil.example:{port}/?token={TOKEN}")
        assert reply.status == 403 and page.content().count("forbidden") == 1
        assert page.locator(ROWS).count() == 0
        shot(page, "dns-rebinding")
    finally:
        browser.close()


class _AttackerPage(BaseHTTPRequestHandler):
    """A page on another origin that tries to drive the dashboard's kernel with a stolen token."""

    script = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"<html><body><script>{self.script}</script></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_page_on_another_origin_cannot_open_the_kernel(page, voila_server) -> None:
    url = voila_server("qa_review")
    page.goto(url)
    page.wait_for_selector(ROWS, timeout=120_000)
    kernel_id = json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]
    port = url.split(":")[2].split("/")[0]
    channels = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}"
    _AttackerPage.script = (
        f"const ws = new WebSocket({json.dumps(channels)});"
        "ws.onopen = () => { document.title = 'opened'; };"
        "ws.onclose = () => { if (document.title !== 'opened') document.title = 'refused'; };")
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        evil = page.context.new_page()
        evil.goto(f"http://localhost:{attacker.server_address[1]}/")
        evil.wait_for_function("document.title === 'refused' || document.title === 'opened'", timeout=30_000)
        assert evil.title() == "refused"
        # The same websocket from the dashboard's own origin opens (so the refusal is the Origin check).
        opened = page.evaluate(
            """url => new Promise(done => { const ws = new WebSocket(url);
                 ws.onopen = () => { ws.close(); done('opened'); }; ws.onclose = () => done('refused'); })""",
            channels)
        assert opened == "opened"
        evil.close()
    finally:
        attacker.shutdown()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_the_qa_dashboard_fits_the_screen(chromium, voila_server, size: tuple[int, int]) -> None:
    width, height = size
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(voila_server("qa_review"))
        page.wait_for_selector(ROWS, timeout=120_000)
        open_row(page, row_id(page, 0))
        page.wait_for_selector(".cl-detail-view .cl-fields dt")
        shot(page, f"qa-{width}x{height}")
        page.screenshot(path=str(SCREENSHOTS / f"serving-qa-{width}x{height}-full.png"), full_page=True)
        table = page.locator(".cl-table-html").bounding_box()
        detail = page.locator(".cl-detail-view").bounding_box()
        assert table["x"] + table["width"] <= detail["x"] + 1, "the table runs under the detail view"
        right = table["x"] + table["width"] + 1
        for column in ("ID", "Flow", "Status", "Duration"):  # what a reviewer reads without scrolling
            head = page.locator(f".cl-table th:has-text('{column}')").first.bounding_box()
            assert head["x"] + head["width"] <= right, f"{column} is scrolled out of view"
        last = page.locator(".cl-table th:has-text('Last Message')").first.bounding_box()
        assert last["x"] + 60 <= right, "the last message is scrolled out of view"  # its start, at least
        for label in ("Search", "To", "Flagged", "From"):  # the filter controls stay beside the table
            box = page.locator(f".widget-inline-hbox:has(label:text-is('{label}'))").first.bounding_box()
            assert box["x"] + box["width"] <= detail["x"] + 1, f"{label} runs under the detail view"
        date = page.locator(".widget-inline-hbox:has(label:text-is('From')) input").first
        assert date.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the date field is cut off"
        assert detail["x"] + detail["width"] <= width + 1, "the detail view is cut off on the right"
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
        for selector in (".cl-detail-view button:text-is('Confirm')", ".cl-detail-view button:text-is('Dismiss')",
                         ".cl-detail-view button:has-text('Add flag')", ".cl-reviewer-line"):
            box = page.locator(selector).first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, selector
    finally:
        close(context)
