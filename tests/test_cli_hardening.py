"""The issue #15 cases through the ``convolab`` command: one line and a non-zero exit, or it works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import convolab
from convolab.generate import write_conversations

from .conftest import conversation

CLI = [sys.executable, "-m", "convolab"]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def _write(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_bad_values_are_rejected_and_the_store_stays_usable(tmp_path):
    deep = json.dumps(conversation("deep", functions=[{"name": "f", "arguments": "X"}])).replace(
        '"X"', "[" * 10_000 + "]" * 10_000)
    _write(tmp_path / "bad.jsonl", [
        conversation("good"), conversation("bc", started_at="-0044-03-15T12:00:00Z"),
        conversation("far", ended_at="10000-01-01T00:00:00Z"), conversation("off", started_at="2026-11-01T10:00+25:00"),
        conversation("nul\u0000id"), conversation("[/x] markup"), deep])
    done = run("ingest", "bad.jsonl", "--db", "s.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "loaded 2, unchanged 0, rejected 5" in done.stdout
    assert "bad.jsonl:2: timestamp out of range in started_at: year -44" in done.stdout
    assert "bad.jsonl:5: id contains a control character (U+0000)" in done.stdout
    assert "bad.jsonl:7: function 0 arguments nests 10,000 levels deep" in done.stdout
    for args in (["conversations"], ["conversations", "--json"], ["show", "good"], ["show", "[/x] markup"],
                 ["export", "good", "--format", "csv"], ["rejected"], ["delete", "good", "--yes"],
                 ["delete", "[/x] markup", "--yes"]):
        step = run(*args, "--db", "s.duckdb", cwd=tmp_path)
        assert step.returncode == 0 and "Traceback" not in step.stderr, (args, step.stderr)
    assert "no conversation with id 'bc'" in _one_error_line(run("show", "bc", "--db", "s.duckdb", cwd=tmp_path))


def test_a_store_holding_a_deep_value_shows_exports_and_deletes(tmp_path):
    _write(tmp_path / "one.jsonl", [conversation("old")])
    assert run("ingest", "one.jsonl", "--db", "s.duckdb", cwd=tmp_path).returncode == 0
    with convolab.open(tmp_path / "s.duckdb") as lab:  # as an older convolab could have stored it
        lab.execute("UPDATE function_calls SET output = ?::JSON", ["[" * 10_000 + "]" * 10_000])
    for args in (["show", "old"], ["show", "old", "--json"], ["export", "old", "--format", "json"],
                 ["delete", "old", "--yes"]):
        step = run(*args, "--db", "s.duckdb", cwd=tmp_path)
        assert step.returncode == 0 and "RecursionError" not in step.stderr, (args, step.stderr[-300:])


def test_show_clips_a_huge_message_and_json_keeps_it_whole(tmp_path):
    text = "word " * 600_000  # 3 MB
    _write(tmp_path / "big.jsonl", [conversation("big", messages=[{"role": "customer", "text": text}])])
    refused = run("ingest", "big.jsonl", "--db", "s.duckdb", cwd=tmp_path)
    assert refused.returncode == 3 and "message 0 is 3,000,000 bytes; the limit is 1,048,576" in refused.stdout
    loaded = run("ingest", "big.jsonl", "--db", "s.duckdb", cwd=tmp_path, CONVOLAB_MAX_MESSAGE_BYTES="4000000")
    assert loaded.returncode == 0, loaded.stderr
    human = run("show", "big", "--db", "s.duckdb", cwd=tmp_path)
    assert human.returncode == 0 and len(human.stdout) < 20_000
    assert "2,998,000 more characters not shown; `show --json` or `export` has all]" in human.stdout
    whole = json.loads(run("show", "big", "--db", "s.duckdb", "--json", cwd=tmp_path).stdout)
    assert whole["transcript"][0]["text"] == text


def test_a_damaged_gzip_is_one_line_and_loads_nothing(tmp_path):
    good = write_conversations(tmp_path / "calls.jsonl.gz", 300, seed=1)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x04
    (tmp_path / "flipped.jsonl.gz").write_bytes(bytes(data))
    (tmp_path / "cut.jsonl.gz").write_bytes(bytes(data[: len(data) // 2]))
    for name in ("flipped.jsonl.gz", "cut.jsonl.gz"):
        line = _one_error_line(run("ingest", "calls.jsonl.gz", name, "--db", "s.duckdb", cwd=tmp_path))
        assert line.startswith(f"error: {name}: ") and "nothing from this file was loaded" in line
    assert not (tmp_path / "s.duckdb").exists() or convolab.open(tmp_path / "s.duckdb").count_conversations() == 0


@pytest.mark.parametrize("args", [
    ["ingest", "x.jsonl", "--role-map", "a=b"],
    ["ingest", "x.jsonl", "--time-format", "%Q"],
    ["ingest", "x.jsonl", "--format", "xml"],
    ["show", "c-1", "--db", "nowhere.duckdb"],
    ["export", "c-1", "--format", "xlsx"],
])
def test_bad_options_are_one_line(tmp_path, args):
    _write(tmp_path / "x.jsonl", [conversation("c-1")])
    _one_error_line(run(*args, cwd=tmp_path))
