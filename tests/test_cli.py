"""The CLI as scripts use it: real processes, real files, exit codes and JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convolab.conversations import DETAIL_FIELDS, TABLE_COLUMNS

CLI = [sys.executable, "-m", "convolab"]


def run(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, input=input, timeout=300)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's own check: 5000 conversations, seed 7, ingested twice."""
    cwd = tmp_path_factory.mktemp("cli")
    assert run("generate", "--conversations", "5000", "--seed", "7", "--out", "x.jsonl", cwd=cwd).returncode == 0
    first = run("ingest", "x.jsonl", "--db", "t.duckdb", cwd=cwd)
    assert first.returncode == 0, first.stderr
    assert "loaded 5,000" in first.stdout
    return cwd


def test_ingesting_again_still_shows_5000(store):
    again = run("ingest", "x.jsonl", "--db", "t.duckdb", "--json", cwd=store)
    report = json.loads(again.stdout)
    assert (report["loaded"], report["unchanged"], report["rejected"]) == (0, 5000, 0)
    listing = json.loads(run("conversations", "--db", "t.duckdb", "--json", "--limit", "3", cwd=store).stdout)
    assert listing["total"] == 5000


def test_conversations_json_has_the_contract_columns(store):
    out = run("conversations", "--db", "t.duckdb", "--status", "failed", "--platform", "phone", "--json",
              cwd=store)
    doc = json.loads(out.stdout)
    assert doc["columns"] == list(TABLE_COLUMNS)
    assert doc["rows"] and all(list(r) == list(TABLE_COLUMNS) for r in doc["rows"])
    assert {r["Status"] for r in doc["rows"]} == {"failed"}
    assert {r["Platform"] for r in doc["rows"]} == {"phone"}


def test_show_lists_detail_fields_in_order(store):
    doc = json.loads(run("show", "c-0000001", "--db", "t.duckdb", "--json", cwd=store).stdout)
    assert doc["fields"] == list(DETAIL_FIELDS)
    text = run("show", "c-0000001", "--db", "t.duckdb", cwd=store).stdout
    positions = [text.index(f"{name}:") for name in DETAIL_FIELDS]
    assert positions == sorted(positions)
    assert text.index("Transcript") > positions[-1] and text.index("Functions and Parameters") > text.index("Transcript")


def test_user_mistakes_give_one_line_and_nonzero_exit(store):
    for args in (["ingest", "missing.jsonl", "--db", "t.duckdb"],
                 ["show", "no-such-id", "--db", "t.duckdb"],
                 ["conversations", "--db", "nowhere.duckdb"],
                 ["flag", "--db", "nowhere.duckdb"],
                 ["flags", "--db", "nowhere.duckdb"],
                 ["eval-flags", "--db", "nowhere.duckdb"],
                 ["export", "c-0000001", "--db", "t.duckdb", "--format", "pdf", "--out", "x.pdf"]):
        result = run(*args, cwd=store)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error:")
    assert not (store / "nowhere.duckdb").exists(), "a mistyped --db must not create an empty store"


def test_mixed_file_reports_counts_and_line_numbers(store):
    lines = ['{"id": "m-1", "platform": "web", "messages": []}', "not json", '{"platform": "web"}']
    (store / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    out = run("ingest", "mixed.jsonl", "--db", "t.duckdb", cwd=store)
    assert out.returncode == 0
    assert "loaded 1, unchanged 0, rejected 2" in out.stdout
    assert "mixed.jsonl:2: invalid JSON" in out.stdout and "mixed.jsonl:3: missing id" in out.stdout


def test_export_and_delete(store):
    assert run("export", "c-0000002", "--db", "t.duckdb", "--format", "csv", "--out", "c2.csv", cwd=store).returncode == 0
    assert (store / "c2.csv").read_text().startswith("conversation_id,seq,role,text,sent_at")
    refused = run("delete", "c-0000002", "--db", "t.duckdb", cwd=store, input="n\n")
    assert refused.returncode != 0
    assert run("delete", "c-0000002", "--db", "t.duckdb", "--yes", cwd=store).returncode == 0
    assert run("show", "c-0000002", "--db", "t.duckdb", cwd=store).returncode != 0
