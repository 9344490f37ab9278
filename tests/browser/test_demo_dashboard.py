"""The QA dashboard as a new user first sees it: on `convolab demo`'s own data, in real Voila."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import convolab
from convolab.emotions.labels import LABELS
from convolab.flags import load_criteria

from .test_qa_review import ROWS, open_row

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `convolab demo` builds (generate, ingest, score with the shipped model, flag), minus serving."""
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "convolab", "demo", "--no-serve", "--conversations", "300", "--db", str(db)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return db


def test_demo_data_opens_on_the_flagged_queue_with_real_flags_and_emotions(
    page, voila_server, demo_store, screenshot
) -> None:
    with convolab.open(demo_store, read_only=True) as lab:
        open_flags = lab.count_conversations(flagged=True)
    assert open_flags > 0
    page.goto(voila_server("qa_review", db=demo_store))
    page.wait_for_selector(ROWS, timeout=120_000)
    rows = page.locator(ROWS)
    assert 0 < rows.count() <= min(50, open_flags)
    assert all("🚩" in text for text in page.locator(f"{ROWS} td:nth-child(9)").all_inner_texts())
    screenshot("queue")

    open_row(page, rows.first.get_attribute("data-id"))
    criteria = {c.name for c in load_criteria()}
    flags_text = page.locator(".cl-fields dt:text-is('Review Flags') + dd").inner_text()
    assert any(name in flags_text for name in criteria), flags_text
    sentiment = page.locator(".cl-fields dt:text-is('Sentiment') + dd").inner_text()
    assert any(label in sentiment.lower() for label in LABELS), sentiment
    assert page.locator(".cl-transcript .cl-msg").count() > 0
    screenshot("detail")

