"""Browser-test fixtures: a small store, Voila serving a dashboard on 127.0.0.1, Debian's chromium.

Reusable by every dashboard's tests: ``voila_server("live_monitor")`` starts
any notebook in ``dashboards/`` against the ``browser_store`` (or another
store passed as ``db=``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import convolab
from convolab.generate import write_conversations

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO / "test-output"

#: Planted in every browser store: a conversation whose text tries to run script.
XSS_ID = "c-xss"
XSS_SCRIPT = "<script>window.__pwned=1</script>"
XSS_IMG = '<img src=x onerror="window.__pwned=1">'


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


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-conversation store with the XSS conversation and a few unreviewed flags."""
    root = tmp_path_factory.mktemp("browser-store")
    src = write_conversations(root / "sample.jsonl", 200, seed=11)
    with src.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(xss_record()) + "\n")
    db = root / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
        ids = [r[0] for r in lab.con.execute(
            "SELECT id FROM conversations WHERE id != ? ORDER BY started_at DESC LIMIT 3", [XSS_ID]).fetchall()]
        for cid in [XSS_ID, *ids]:
            lab.con.execute(
                "INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)"
                " VALUES (?, 'negative_sentiment', 'high', ?, 'criteria', now()::TIMESTAMP)",
                [cid, f"customer upset {XSS_SCRIPT}" if cid == XSS_ID else "customer upset"],
            )
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited early with code {proc.returncode}")
        try:
            # A TCP connect only: a GET / would start a kernel that holds the DuckDB lock.
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"voila did not listen on 127.0.0.1:{port} within {timeout}s")


@pytest.fixture(scope="session")
def voila_server(browser_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Factory: ``voila_server("qa_review", db=None) -> base URL``; servers stop at session end."""
    procs: list[subprocess.Popen] = []
    started: dict[tuple[str, str], str] = {}

    def start(notebook: str, *, db: Path | None = None) -> str:
        db = db or browser_store
        key = (notebook, str(db))
        if key in started:
            return started[key]
        path = REPO / "dashboards" / f"{notebook}.ipynb"
        assert path.is_file(), f"{path} is missing"
        port = _free_port()
        log = (tmp_path_factory.mktemp("voila-log") / f"{notebook}.log").open("w")
        env = {**os.environ, "CONVOLAB_DB": str(db)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(path), f"--port={port}", "--no-browser",
             "--Voila.ip=127.0.0.1", "--strip_sources=True", "--VoilaExecutor.timeout=120",
             # A page's kernel holds DuckDB's write lock: cull it soon after the page goes away
             # so that the next page (or a reload) can open the store.
             "--MappingKernelManager.cull_idle_timeout=2", "--MappingKernelManager.cull_interval=1"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        _wait_for_port(port, proc)
        started[key] = url = f"http://127.0.0.1:{port}/"
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian chromium through Playwright's sync API."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page (downloads accepted) per test."""
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
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
