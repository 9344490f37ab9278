"""``convolab audio FILE``: one JSON document, human output, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convolab.cli import app

CLI = [sys.executable, "-m", "convolab"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_json_is_one_document_with_the_issue_keys(clean_call, tmp_path):
    done = run("audio", str(clean_call.path), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # exactly one JSON document on stdout
    assert {"duration_s", "channels", "talk_s", "talk_ratio", "dead_air", "agent_latency_ms", "interruptions",
            "overtalk_s", "loudness_dbfs", "segments"} <= set(doc)
    assert doc["dead_air"]["count"] == 1 and doc["interruptions"] == {"agent": 1, "customer": 1}


@pytest.mark.parametrize("content, reason", [(b"", "empty file"), (b"hello, not audio" * 40, "not a readable audio file"),
                                             (None, "no such file")])
def test_bad_files_print_one_line_and_exit_non_zero(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    done = run("audio", str(path), "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in done.stderr


def test_truncated_file_is_one_line_too(clean_call, tmp_path):
    data = clean_call.path.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 3])
    done = run("audio", "cut.wav", cwd=tmp_path)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1 and "truncated" in done.stderr


runner = CliRunner()


def test_human_output_names_each_figure(clean_call):
    result = runner.invoke(app, ["audio", str(clean_call.path)])
    assert result.exit_code == 0, result.output
    for word in ("talk", "agent latency", "interruptions", "dead air", "loudness"):
        assert word in result.output


def test_options_reach_the_analysis(clean_call, tmp_path):
    messages = tmp_path / "conversation.json"
    from .conftest import SCRIPT

    messages.write_text(json.dumps({"messages": [{"role": "customer" if c == 0 else "agent", "text": t}
                                                 for c, t, _ in SCRIPT]}))
    result = runner.invoke(app, ["audio", str(clean_call.path), "--json", "--dead-air-s", "8",
                                 "--overlap-ms", "900", "--transcript", str(messages)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["dead_air"]["count"] == 0 and doc["interruptions"] == {"agent": 0, "customer": 0}
    assert doc["speech_rate_wpm"]["agent"] is not None


@pytest.mark.parametrize("args, message", [
    ([], "give a recording FILE"),
    (["--vad", "nope", "{file}"], "unknown VAD"),
    (["--transcript", "{missing}", "{file}"], "cannot read transcript"),
])
def test_user_mistakes_are_one_line(clean_call, tmp_path, args, message):
    args = [a.format(file=clean_call.path, missing=tmp_path / "none.json") for a in args]
    result = runner.invoke(app, ["audio", *args])
    assert result.exit_code == 1 and message in result.output


def test_a_truncated_mp3_is_one_line_without_decoder_noise(tmp_path):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "full.mp3", (0.1 * np.random.default_rng(2).standard_normal((40_000, 2))).astype(np.float32),
             8000, format="MP3")
    data = (tmp_path / "full.mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2])
    done = run("audio", "cut.mp3", "--json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "truncated" in done.stderr


def test_generate_with_audio_writes_recordings(tmp_path):
    done = run("generate", "-n", "8", "--seed", "5", "--out", "calls.jsonl", "--audio", "rec", "--audio-calls", "2",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 2 call recordings to rec" in done.stdout
    records = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    recorded = [r["recording"] for r in records if r["recording"]]
    assert len(recorded) == 2 and all((tmp_path / "rec" / name).is_file() for name in recorded)
    doc = json.loads(run("audio", str(tmp_path / "rec" / recorded[0]), "--json", cwd=tmp_path).stdout)
    assert doc["channels"] == 2 and doc["talk_s"]["customer"] > 0 and doc["talk_s"]["agent"] > 0
