"""Fixtures for the report tests: one scored and flagged store of 5,000 generated conversations
(built once per session through the real CLI), small stores for edge cases, Debian's chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import convolab
from convolab.generate import write_conversations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"

#: Planted conversations carrying contact details and markup in the labels a report shows.
PII_PHONE = "+1 (555) 010-9999"
PII_EMAIL = "jane.doe@example.net"
PII_FLOW = f"Callback {PII_PHONE} team"
PII_REASON = f"refund to {PII_EMAIL}"
PII_FUNCTION = "notify_15550109999"
XSS_FLOW = "<script>window.__pwned=1</script>"
XSS_REASON = '<img src=x onerror="window.__pwned=1">'
#: Completed, but a human agent stepped in: never contained.
HUMAN_ID = "c-human-1"
#: The period the period tests use, and the previous period it implies.
PERIOD = ("2026-11-01", "2026-11-29")
PREVIOUS = ("2026-10-03", "2026-10-31")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``convolab ARGS`` as a user would; fail the test with its stderr if it fails."""
    done = subprocess.run([sys.executable, "-m", "convolab", *args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, f"convolab {' '.join(args)} failed: {done.stderr[-2000:]}"
    return done


def planted_records() -> list[dict]:
    def record(cid: str, *, flow: str, reason: str, status: str, human: bool = False,
               function: str = "lookup_account", function_status: str = "ok") -> dict:
        messages = [
            {"role": "agent", "text": "Hello, how can I help?", "at": "2026-11-10T10:00:01Z"},
            {"role": "customer", "text": "I have a question about my bill.", "at": "2026-11-10T10:00:05Z"},
        ]
        if human:
            messages.append({"role": "human_agent", "text": "Hi, I'm Sam from billing, I'll take it from here.",
                             "at": "2026-11-10T10:00:30Z"})
        messages.append({"role": "customer", "text": "Thanks, that is all.", "at": "2026-11-10T10:01:00Z"})
        return {
            "id": cid, "flow": flow, "platform": "web", "contact": f"{cid}@contact.example.com",
            "contact_id": f"cust-{cid}", "status": status,
            "started_at": "2026-11-10T10:00:00Z", "ended_at": "2026-11-10T10:01:30Z",
            "summary": f"Planted for the report tests; call {PII_PHONE}.", "analysis": "n/a",
            "tags": {"call_reason": reason, "language": "en"},
            "messages": messages,
            "functions": [{"name": function, "arguments": {"phone": PII_PHONE}, "output": {"ok": False},
                           "status": function_status, "at": "2026-11-10T10:00:10Z"}],
        }

    return [
        record("c-pii-1", flow=PII_FLOW, reason=PII_REASON, status="completed", human=True,
               function=PII_FUNCTION, function_status="error"),
        record(HUMAN_ID, flow="Utilities Inbound", reason="billing", status="completed", human=True),
        record("c-xss-1", flow=XSS_FLOW, reason=XSS_REASON, status="failed"),
    ]


def add_decisions(lab: convolab.Workbench) -> None:
    """QA decisions on some flags, with later decisions that overturn earlier ones."""
    flags = lab.execute(
        "SELECT flag_id, conversation_id, criterion FROM flags ORDER BY conversation_id, criterion LIMIT 60"
    ).fetchall()
    rows = []
    for k, (flag_id, cid, criterion) in enumerate(flags):
        if k < 20:
            rows.append((flag_id, cid, criterion, "confirmed", "2026-12-01 09:00:00"))
        elif k < 30:
            rows.append((flag_id, cid, criterion, "dismissed", "2026-12-01 09:00:00"))
        elif k < 40:  # dismissed, then confirmed: confirmed wins
            rows.append((flag_id, cid, criterion, "dismissed", "2026-12-01 09:00:00"))
            rows.append((flag_id, cid, criterion, "confirmed", "2026-12-02 09:00:00"))
        elif k < 45:  # confirmed, then dismissed: dismissed wins
            rows.append((flag_id, cid, criterion, "confirmed", "2026-12-01 09:00:00"))
            rows.append((flag_id, cid, criterion, "dismissed", "2026-12-02 09:00:00"))
    lab.executemany(
        "INSERT INTO flag_decisions (flag_id, conversation_id, criterion, decision, reviewer, decided_at)"
        " VALUES (?, ?, ?, ?, 'qa-test', ?::TIMESTAMP)",
        rows,
    )


@pytest.fixture(scope="session")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 conversations (seed 7) plus the planted ones: ingested, scored with the real model,
    flagged by the built-in criteria, with some QA decisions. Built once per session."""
    root = tmp_path_factory.mktemp("report-store")
    src = root / "sample.jsonl"
    cli("generate", "--conversations", "5000", "--seed", "7", "--out", str(src))
    with src.open("a", encoding="utf-8") as fh:
        for record in planted_records():
            fh.write(json.dumps(record) + "\n")
    db = root / "store.duckdb"
    cli("ingest", str(src), "--db", str(db))
    cli("score", "--db", str(db))
    cli("flag", "--db", str(db))
    with convolab.open(db) as lab:
        add_decisions(lab)
    return db


@pytest.fixture(scope="session")
def report_lab(report_db: Path) -> Iterator[convolab.Workbench]:
    """The 5,000-conversation store, opened read-only (reports write nothing)."""
    with convolab.open(report_db, read_only=True) as lab:
        yield lab


@pytest.fixture(scope="session")
def chromium(playwright):
    """Debian's chromium, headless, through the session's Playwright (tests/conftest.py)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: make system-deps installs it"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def small_store(tmp_path: Path):
    """Factory: ``small_store(records, n=0)`` -> an open store with ``n`` generated conversations
    (seed 3) and the given canonical records."""
    opened: list[convolab.Workbench] = []

    def make(records: list[dict] = (), n: int = 0, name: str = "small") -> convolab.Workbench:
        src = tmp_path / f"{name}.jsonl"
        if n:
            write_conversations(src, n, seed=3)
        with src.open("a", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r) + "\n")
        lab = convolab.open(tmp_path / f"{name}.duckdb")
        lab.ingest(src)
        opened.append(lab)
        return lab

    yield make
    for lab in opened:
        lab.close()
