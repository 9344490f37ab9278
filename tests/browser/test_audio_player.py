"""Listening to a generated call in the QA dashboard: real Voila, real chromium, a real espeak-ng recording."""

from __future__ import annotations

from pathlib import Path

import pytest

import convolab
from tests.conftest import recorded_store

from .conftest import SCREENSHOTS
from .test_qa_review import ROWS, dropdown, open_row

pytestmark = pytest.mark.browser

#: What the issue allows a conversation to send before the reviewer presses play.
MAX_BEFORE_PLAY = 100_000
PLAYER = ".cl-detail-view .cl-player"


@pytest.fixture(scope="module")
def audio_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float, int, int, int]:
    """30 generated conversations, 4 phone calls spoken and analysed (seed 7 plants dead air in one and
    an agent interruption in another); the call with most events is the one to play.

    Returns (store, conversation id, its duration in seconds, bytes of its recording as played, its
    dead-air count, its interruptions).
    """
    db = recorded_store(tmp_path_factory.mktemp("audio-store"), 30, seed=7, calls=4)
    with convolab.open(db) as lab:
        row = lab.execute(
            "SELECT conversation_id, duration_s, dead_air_count, interruptions_agent + interruptions_customer"
            " FROM audio_analyses WHERE status = 'ok'"
            " ORDER BY dead_air_count DESC, interruptions_agent + interruptions_customer DESC, conversation_id LIMIT 1"
        ).fetchone()
        from convolab.audio import read_recording

        size = len(read_recording(lab, row[0], playable=True).data)
    assert row[2] + row[3] > 0, "the seed no longer plants dead air or interruptions in the first calls"
    return db, row[0], float(row[1]), size, int(row[2]), int(row[3])


class WebSocketBytes:
    """Counts the bytes every websocket of a page receives (Jupyter's kernel channels)."""

    def __init__(self, page) -> None:
        self.total = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        self.total += len(payload.encode() if isinstance(payload, str) else payload)


def audio_state(page) -> dict:
    return page.evaluate(f"""() => {{ const a = document.querySelector('{PLAYER} audio');
        return {{ t: a.currentTime, paused: a.paused, duration: a.duration, src: a.src.slice(0, 5),
                 loaded: Number(document.querySelector('{PLAYER}').dataset.loadedBytes || 0) }}; }}""")


def no_overlaps(page, selector: str) -> None:
    """The player's parts lie inside the detail view and do not cover each other."""
    boxes = page.evaluate(f"""() => {{
        const view = document.querySelector('.cl-detail-view').getBoundingClientRect();
        const parts = [...document.querySelectorAll('{selector}')].map(e => e.getBoundingClientRect())
            .filter(r => r.width > 0 && r.height > 0);
        return {{ view: [view.left, view.right], parts: parts.map(r => [r.left, r.top, r.right, r.bottom]) }}; }}""")
    left, right = boxes["view"]
    parts = boxes["parts"]
    assert parts
    for x0, _y0, x1, _y1 in parts:
        assert left - 1 <= x0 and x1 <= right + 1, (boxes, "cut off at the side")
    for i, a in enumerate(parts):
        for b in parts[i + 1:]:
            overlap = min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1
            assert not overlap, (a, b)


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_a_generated_call_plays_and_the_timeline_seeks(chromium, voila_server, audio_store, viewport):
    db, cid, duration, played_bytes, dead_air, interruptions = audio_store
    context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    received = WebSocketBytes(page)
    try:
        page.goto(voila_server("qa_review", db=db))
        page.wait_for_selector(".cl-table-html", timeout=120_000)
        dropdown(page, "Flagged").select_option(label="(any)")  # nothing is flagged in this store
        page.wait_for_selector(f"{ROWS}[data-id='{cid}']")
        page.wait_for_timeout(1000)  # let the table's own traffic settle
        before = received.total
        open_row(page, cid)
        page.wait_for_selector(f"{PLAYER} .cl-tl-seg")
        page.wait_for_timeout(1500)
        opened = received.total - before
        print(f"opening {cid} sent {opened:,} websocket bytes before play ({viewport[0]}x{viewport[1]})")
        assert opened < MAX_BEFORE_PLAY, f"opening the conversation sent {opened:,} bytes"
        lanes = page.locator(f"{PLAYER} .cl-tl-label").all_inner_texts()
        assert lanes == ["Customer", "Agent", "Transcript"]
        assert page.locator(f"{PLAYER} .cl-tl-seg.cl-tl-customer").count() > 0
        assert page.locator(f"{PLAYER} .cl-tl-seg.cl-tl-agent").count() > 0
        assert page.locator(f"{PLAYER} .cl-tl-line").count() == page.locator(".cl-transcript .cl-msg").count()
        assert page.locator(f"{PLAYER} .cl-tl-dead").count() == dead_air
        if interruptions:
            assert page.locator(f"{PLAYER} .cl-tl-over").count() >= interruptions
        state = audio_state(page)
        assert state["src"] == "" and state["loaded"] == 0  # nothing to play yet: no audio was sent
        page.locator(PLAYER).scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(exist_ok=True)
        name = f"{SCREENSHOTS}/audio-player-{viewport[0]}x{viewport[1]}"
        no_overlaps(page, f"{PLAYER} .cl-player-bar, {PLAYER} .cl-player-figures, {PLAYER} .cl-timeline,"
                          f" {PLAYER} .cl-tl-legend")

        page.locator(f"{PLAYER} button.cl-play").click()
        page.wait_for_function(f"""() => {{ const a = document.querySelector('{PLAYER} audio');
            return a.currentTime > 0.3 && !a.paused; }}""", timeout=120_000)
        state = audio_state(page)
        assert state["loaded"] == played_bytes and state["src"] == "blob:"
        assert received.total - before > played_bytes  # the audio came over the websocket, after play
        assert abs(state["duration"] - duration) < 0.2
        assert page.locator(f"{PLAYER} button.cl-play").inner_text().startswith("❚❚")

        # click 75% of the way along the timeline: the audio jumps there, the playhead follows
        box = page.locator(f"{PLAYER} svg.cl-tl-svg").bounding_box()
        page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 8)
        page.wait_for_function(f"""() => {{ const a = document.querySelector('{PLAYER} audio');
            return Math.abs(a.currentTime - 0.75 * a.duration) < 1.5; }}""")
        head = float(page.locator(f"{PLAYER} .cl-tl-head").get_attribute("x1"))
        assert abs(head - 750) < 30
        assert page.locator(f"{PLAYER} .cl-tl-now").inner_text().strip()  # the line being heard
        page.screenshot(path=f"{name}.png", full_page=True)
        page.locator(PLAYER).screenshot(path=f"{name}-player.png")
        # clicking a transcript marker plays from that line
        marker = page.locator(f"{PLAYER} .cl-tl-line").nth(1)
        t = float(marker.get_attribute("data-t"))
        marker.click(force=True)
        page.wait_for_function(f"""() => Math.abs(document.querySelector('{PLAYER} audio').currentTime - {t}) < 1.0""")
    finally:
        context.close()
