"""``convolab live`` as scripts use it: real processes, exit codes, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

CLI = [sys.executable, "-m", "convolab", "live"]


def run(*args, cwd):
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_calls_json(tmp_path):
    done = run("calls", "--json", "--calls", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 3 and {"id", "status", "handler", "risk", "top_emotions"} <= set(rows[0])


def test_simulate_saves_finished_calls(tmp_path):
    done = run("simulate", "--db", "s.duckdb", "--calls", "3", "--seconds", "3", "--speed", "60",
               "--no-scoring", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "finished calls saved" in done.stdout
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM conversations").fetchone()[0] >= 3


def test_unknown_backend_is_one_line(tmp_path):
    done = run("calls", "--backend", "nope", cwd=tmp_path)
    assert done.returncode == 1 and "unknown backend" in done.stderr and "Traceback" not in done.stderr


def test_twilio_without_credentials_is_one_line(tmp_path, monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    done = run("calls", "--backend", "twilio", cwd=tmp_path)
    assert done.returncode == 1 and "TWILIO_ACCOUNT_SID" in done.stderr and "Traceback" not in done.stderr
