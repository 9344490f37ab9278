"""Browser-test fixtures: a small store, ``convolab serve`` on 127.0.0.1, Debian's chromium.

Reusable by every dashboard's tests: ``voila_server("live_monitor")`` runs the real
``convolab serve`` (Voila behind its token and Host/Origin check) for any dashboard in
``convolab/dashboards/`` against the ``browser_store`` (or another store passed as
``db=``), and returns the URL with the token.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import convolab
from convolab.audio import set_recordings_root
from convolab.generate import write_conversations
from tests.serving import TOKEN, start_serve, stop

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO / "test-output"

#: Planted in every browser store: a conversation whose text tries to run script.
XSS_ID = "c-xss"
XSS_SCRIPT = "<script>window.__pwned=1</script>"
XSS_IMG = '<img src=x onerror="window.__pwned=1">'
#: Planted, unflagged: the delete test removes it (found by a phrase only it contains).
DELETE_ID = "c-delete-me"
DELETE_PHRASE = "please forget my account"
#: Planted, unflagged: a real WAV recording (relative to the store's recordings root, its folder) and
#: emotion scores.
RECORDED_ID = "c-recorded"
RECORDED_PHRASE = "my meter reading looks wrong"
RECORDING = "audio/c-recorded.wav"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def xss_record() -> dict:
    """A canonical conversation carrying script payloads in every text field."""
    return {
        "id": XSS_ID, "flow": "Security Probe", "platform": "web", "contact": XSS_IMG, "contact_id": "cust-xss",
        "status": "completed", "started_at": "2026-12-31T10:00:00Z", "ended_at": "2026-12-31T10:02:00Z",
        "summary": XSS_SCRIPT, "analysis": XSS_IMG, "tags": {"call_reason": XSS_SCRIPT, "issue": XSS_IMG},
        "parameters": {"note": XSS_SCRIPT},
        "messages": [
            {"role": "customer", "text": f"hi {XSS_SCRIPT} and {XSS_IMG}", "at": "2026-12-31T10:00:01Z"},
            {"role": "agent", "text": f"echo {XSS_IMG}", "at": "2026-12-31T10:00:04Z"},
        ],
        "functions": [{"name": "lookup", "arguments": {"q": XSS_SCRIPT}, "output": {"html": XSS_IMG},
                       "status": "error", "at": "2026-12-31T10:00:09Z"}],
    }


def planted_record(cid: str, phrase: str, **overrides: object) -> dict:
    """A small phone conversation whose first customer line contains ``phrase``."""
    record = {
        "id": cid, "flow": "Utilities Inbound", "platform": "phone", "contact": "+15555550199",
        "contact_id": f"cust-{cid}", "status": "completed",
        "started_at": "2026-01-02T09:00:00Z", "ended_at": "2026-01-02T09:03:00Z",
        "summary": "Planted for the browser tests.", "analysis": "n/a", "tags": {"call_reason": "billing"},
        "messages": [
            {"role": "customer", "text": f"Hello, {phrase}.", "at": "2026-01-02T09:00:02Z"},
            {"role": "agent", "text": "Let me look into that.", "at": "2026-01-02T09:00:05Z"},
            {"role": "customer", "text": "This is really annoying.", "at": "2026-01-02T09:00:30Z"},
            {"role": "agent", "text": "I have corrected the reading.", "at": "2026-01-02T09:01:10Z"},
            {"role": "customer", "text": "Great, thank you so much!", "at": "2026-01-02T09:02:40Z"},
        ],
    }
    record.update(overrides)
    return record


def write_wav(path: Path, seconds: float = 0.25, rate: int = 8000) -> Path:
    """A short 440 Hz tone as 16-bit mono WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def score_emotions(lab: convolab.Workbench, conversation_id: str) -> None:
    """Emotion scores for a conversation's customer messages, as a scoring run would write them."""
    lab.execute(
        """
        INSERT INTO message_emotions (model_id, text_hash, context_hash, annoyance, gratitude, neutral, emotions,
                                      polarity, sentiment, scored_at)
        SELECT 'browser-test', md5(text), context_hash,
               CASE WHEN text LIKE '%annoying%' THEN 0.8 ELSE 0.05 END,
               CASE WHEN text LIKE '%thank%' THEN 0.9 ELSE 0.05 END, 0.3,
               CASE WHEN text LIKE '%annoying%' THEN ['annoyance'] WHEN text LIKE '%thank%' THEN ['gratitude']
                    ELSE ['neutral'] END,
               CASE WHEN text LIKE '%annoying%' THEN 'negative' WHEN text LIKE '%thank%' THEN 'positive'
                    ELSE 'neutral' END,
               CASE WHEN text LIKE '%annoying%' THEN -0.7 WHEN text LIKE '%thank%' THEN 0.8 ELSE 0.0 END,
               now()::TIMESTAMP
        FROM message_contexts WHERE conversation_id = ? AND role = 'customer'
        """,
        [conversation_id],
    )
    lab.execute(
        "INSERT INTO conversation_emotions (conversation_id, model_id, n_messages, top_emotions, top_scores,"
        " polarity, sentiment, trend, refreshed_at) VALUES (?, 'browser-test', 3, ['annoyance', 'gratitude',"
        " 'curiosity'], [0.3, 0.32, 0.05], 'ambiguous', 0.03, 'improved', now()::TIMESTAMP)",
        [conversation_id],
    )


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-conversation store with the XSS conversation, a few unreviewed flags, and two planted
    unflagged conversations: one to delete, one with a recording and emotion scores."""
    root = tmp_path_factory.mktemp("browser-store")
    src = write_conversations(root / "sample.jsonl", 200, seed=11)
    with src.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(xss_record()) + "\n")
        fh.write(json.dumps(planted_record(DELETE_ID, DELETE_PHRASE)) + "\n")
        fh.write(json.dumps(planted_record(RECORDED_ID, RECORDED_PHRASE, recording=RECORDING)) + "\n")
    write_wav(root / RECORDING)
    db = root / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
        set_recordings_root(lab, root)  # relative recordings resolve in the root stored with the store
        score_emotions(lab, RECORDED_ID)
        ids = [r[0] for r in lab.execute(
            "SELECT id FROM conversations WHERE id NOT IN (?, ?, ?) ORDER BY started_at DESC LIMIT 3",
            [XSS_ID, DELETE_ID, RECORDED_ID]).fetchall()]
        for cid in [XSS_ID, *ids]:
            lab.execute(
                "INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)"
                " VALUES (?, 'negative_sentiment', 'high', ?, 'criteria', now()::TIMESTAMP)",
                [cid, f"customer upset {XSS_SCRIPT}" if cid == XSS_ID else "customer upset"],
            )
    return db


@pytest.fixture(scope="session")
def voila_server(browser_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Factory: ``voila_server("qa_review", db=None) -> URL with ?token=``; servers stop at session end."""
    procs: list[subprocess.Popen] = []
    started: dict[tuple[str, str], str] = {}

    def start(notebook: str, *, db: Path | None = None) -> str:
        db = db or browser_store
        key = (notebook, str(db))
        if key in started:
            return started[key]
        log = tmp_path_factory.mktemp("serve-log") / f"{notebook}.log"
        proc, port = start_serve(notebook, db, log)
        procs.append(proc)
        started[key] = url = f"http://127.0.0.1:{port}/?token={TOKEN}"
        return url

    yield start
    for proc in procs:
        stop(proc)


@pytest.fixture(scope="session")
def chromium(playwright):
    """A headless Debian chromium through Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: `make system-deps` installs Debian's chromium")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # tests/conftest.py
    yield browser
    browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page (downloads accepted) per test."""
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1600, "height": 1000})
    # Nothing may be fetched from outside the dashboard's own server (no CDN, no network at
    # run time): such requests are refused here and fail the test.
    outside: list[str] = []

    def refuse(route) -> None:  # noqa: ANN001 - a playwright Route
        outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")), refuse)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    close(context)
    assert not outside, f"the page requested resources outside its server: {sorted(set(outside))[:5]}"


def close(context) -> None:
    """Close a browser context as a person closes tabs: each page's unload tells Voila to shut its
    kernel down (otherwise the kernel waits out the reconnect window)."""
    for pg in context.pages:
        try:
            pg.close(run_before_unload=True)
        except Exception:  # noqa: BLE001 - a page that is already gone
            pass
    time.sleep(0.5)  # let the unload beacons leave before the context goes
    context.close()


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``screenshot("step")`` saves test-output/<test>-<step>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def shot(step: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
