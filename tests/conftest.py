"""Shared fixtures: real DuckDB stores in temporary folders, sample data, ../shared."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import convolab
from convolab.generate import write_conversations

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (DESIGN.md, GoEmotions, the Twilio spec)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: tests expect ../shared beside the checkout"
    return SHARED


@pytest.fixture
def lab(tmp_path: Path):
    """An empty store in a real DuckDB file."""
    with convolab.open(tmp_path / "store.duckdb") as workbench:
        yield workbench


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as-is) to a JSONL file; return its path."""

    def write(records: Iterable[Any], name: str = "input.jsonl") -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def sample_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 generated conversations (seed 7) as canonical JSONL."""
    return write_conversations(tmp_path_factory.mktemp("sample") / "sample.jsonl", 300, seed=7)


@pytest.fixture
def sample_lab(lab, sample_jsonl: Path):
    """A store loaded with the 300 sample conversations."""
    lab.ingest(sample_jsonl)
    return lab


def conversation(id: str = "c-1", **overrides: Any) -> dict[str, Any]:  # noqa: A002
    """A valid canonical conversation record, with fields overridden."""
    record = {
        "id": id, "flow": "Utilities Inbound", "platform": "phone", "contact": "+15555550123",
        "contact_id": "cust-123", "status": "completed",
        "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T10:04:12Z",
        "summary": "Customer asked about a high bill.", "analysis": "Resolved.",
        "tags": {"call_reason": "billing", "language": "en", "issue": "high bill"},
        "parameters": {"account_id": "A-1"},
        "recording": "audio/c-000001.wav",
        "messages": [
            {"role": "customer", "text": "Why is my bill so high?", "at": "2026-11-01T10:00:03Z"},
            {"role": "agent", "text": "Let me check that for you.", "at": "2026-11-01T10:00:05Z"},
        ],
        "functions": [
            {"name": "lookup_account", "arguments": {"phone": "+15555550123"},
             "output": {"account_id": "A-1"}, "status": "ok", "at": "2026-11-01T10:00:20Z"},
        ],
    }
    record.update(overrides)
    return record


@pytest.fixture(scope="session")
def playwright():
    """One Playwright (sync API) per session: a second one in the same thread is refused, and both
    the browser tests and the report tests drive chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p
