"""The proposed audio tables, filled by analyse_store against a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from convolab.audio.tables import (
    ANALYSIS_COLUMNS,
    analyse_store,
    latest_analyses,
    read_segments,
)

from .conftest import render


@pytest.fixture
def audio_lab(lab):
    assert lab.execute("SELECT count(*) FROM audio_analyses").scalar() == 0  # schema 9 made the tables
    return lab


def _counts(result: dict) -> dict:
    return {k: result[k] for k in ("total", "analysed", "failed", "unchanged")}


def _conversation(cid: str, recording: str | None) -> dict:
    return {"id": cid, "flow": "Utilities Inbound", "platform": "phone", "status": "completed",
            "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T10:01:00Z", "recording": recording,
            "messages": [{"role": "customer", "text": "I'm calling about my high bill.", "at": "2026-11-01T10:00:03Z"},
                         {"role": "agent", "text": "Let me look into that for you.", "at": "2026-11-01T10:00:05Z"}]}


@pytest.fixture
def store_with_recordings(audio_lab, speaker, clean_call, tmp_path, write_jsonl):
    root = tmp_path / "recordings"
    (root / "calls").mkdir(parents=True)
    shutil.copy(clean_call.path, root / "calls" / "good.wav")
    render(speaker, root / "calls", "mono", mono=True)
    (root / "calls" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    (root / "calls" / "empty.mp3").write_bytes(b"")
    (tmp_path / "outside.wav").write_bytes(clean_call.path.read_bytes())
    records = [_conversation("c-good", "calls/good.wav"), _conversation("c-mono", "calls/mono.wav"),
               _conversation("c-corrupt", "calls/corrupt.wav"), _conversation("c-empty", "calls/empty.mp3"),
               _conversation("c-missing", "calls/missing.wav"), _conversation("c-escape", "../outside.wav"),
               _conversation("c-chat", None)]
    audio_lab.ingest(write_jsonl(records))
    return audio_lab, root


def test_one_run_analyses_good_files_and_records_each_bad_one_with_its_reason(store_with_recordings):
    lab, root = store_with_recordings
    seen = []
    counts = analyse_store(lab, recordings_root=root, progress=lambda done, total: seen.append((done, total)))
    assert _counts(counts) == {"total": 6, "analysed": 2, "failed": 4, "unchanged": 0}
    assert {f["conversation_id"]: f["reason"] for f in counts["failures"]}["c-escape"] == \
        "path leaves the recordings root"
    assert seen[-1] == (6, 6)
    rows = {r["conversation_id"]: r for r in latest_analyses(lab).to_dicts()}
    assert set(rows) == {"c-good", "c-mono", "c-corrupt", "c-empty", "c-missing", "c-escape"}
    assert tuple(latest_analyses(lab).columns) == ANALYSIS_COLUMNS
    good = rows["c-good"]
    assert good["status"] == "ok" and good["reason"] is None and len(good["content_hash"]) == 64
    assert good["channels"] == 2 and good["dead_air_count"] == 1 and good["interruptions_agent"] == 1
    assert good["interruptions_customer"] == 1 and good["latency_n"] == 4 and 0 < good["talk_ratio"] < 1
    metrics = json.loads(good["metrics"])
    assert metrics["talk_s"]["customer"] == good["talk_customer_s"]
    assert metrics["speech_rate_wpm"]["customer"] is not None  # the transcript came from the store
    assert rows["c-mono"]["status"] == "ok" and rows["c-mono"]["talk_ratio"] is None
    assert rows["c-corrupt"]["status"] == "failed" and "not a readable audio file" in rows["c-corrupt"]["reason"]
    assert rows["c-empty"]["reason"] == "empty file" and rows["c-empty"]["content_hash"] is not None
    assert rows["c-missing"]["reason"] == "no such file" and rows["c-missing"]["content_hash"] is None
    assert rows["c-escape"]["reason"] == "path leaves the recordings root" and rows["c-escape"]["content_hash"] is None
    segments = read_segments(lab, "c-good")
    assert len(segments) == len(metrics["segments"]) and {s["channel"] for s in segments} == {"customer", "agent"}
    assert read_segments(lab, "c-corrupt") == []


def test_runs_are_incremental_by_content(store_with_recordings, clean_call):
    lab, root = store_with_recordings
    analyse_store(lab, recordings_root=root)
    again = analyse_store(lab, recordings_root=root)
    # analysed contents (good, mono, and the corrupt and empty files) are not read again;
    # files that could not be read at all are tried again, replacing their failure
    assert _counts(again) == {"total": 6, "analysed": 0, "failed": 2, "unchanged": 4}
    assert again["unchanged_failed"] == 2  # the corrupt and the empty file: not read again
    assert lab.execute("SELECT count(*) FROM audio_analyses WHERE conversation_id = 'c-missing'").scalar() == 1
    # the missing file appears, and the good one is replaced by other content
    shutil.copy(clean_call.path, root / "calls" / "missing.wav")
    (root / "calls" / "good.wav").write_bytes((root / "calls" / "mono.wav").read_bytes())
    third = analyse_store(lab, recordings_root=root)
    assert _counts(third) == {"total": 6, "analysed": 2, "failed": 1, "unchanged": 3}
    latest = {r["conversation_id"]: r for r in latest_analyses(lab, ["c-good", "c-missing"]).to_dicts()}
    assert latest["c-good"]["channels"] == 1 and latest["c-missing"]["status"] == "ok"
    # the good conversation keeps its history (one row per content), its segments are the latest
    assert lab.execute("SELECT count(*) FROM audio_analyses WHERE conversation_id = 'c-good'").scalar() == 2
    assert {s["channel"] for s in read_segments(lab, "c-good")} == {"mixed"}
    assert lab.execute("SELECT count(*) FROM audio_analyses WHERE conversation_id = 'c-missing'").scalar() == 1
    # the first content comes back: analysed again and current again, still one row per content
    shutil.copy(clean_call.path, root / "calls" / "good.wav")
    fourth = analyse_store(lab, recordings_root=root)
    assert _counts(fourth) == {"total": 6, "analysed": 1, "failed": 1, "unchanged": 4}
    assert latest_analyses(lab, ["c-good"])["channels"].to_list() == [2]
    assert lab.execute("SELECT count(*) FROM audio_analyses WHERE conversation_id = 'c-good'").scalar() == 2
    assert {s["channel"] for s in read_segments(lab, "c-good")} == {"customer", "agent"}


def test_nothing_outside_the_root_is_read(store_with_recordings, monkeypatch):
    lab, root = store_with_recordings
    opened: list[str] = []
    import convolab.audio.tables as tables

    real_hash = tables.content_hash
    monkeypatch.setattr(tables, "content_hash", lambda p: opened.append(str(p)) or real_hash(p))
    analyse_store(lab, recordings_root=root)
    assert opened and all(Path(p).is_relative_to(root.resolve()) for p in opened)
