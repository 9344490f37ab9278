"""A store's recordings through the CLI: `convolab audio --db`, `show`, and audio criteria over the analyses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import convolab
from convolab.cli import app
from convolab.flags import load_criteria, run_flags
from tests.conftest import recorded_store

from .conftest import render

CLI = [sys.executable, "-m", "convolab"]
runner = CliRunner()
AUDIO_CRITERIA = ("dead_air", "agent_interrupts_customer", "slow_agent_latency")


def _conversation(cid: str, recording: str | None, platform: str = "phone") -> dict:
    return {"id": cid, "flow": "Utilities Inbound", "platform": platform, "status": "completed",
            "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T10:01:00Z", "recording": recording,
            "messages": [{"role": "customer", "text": "I'm calling about my high bill.", "at": "2026-11-01T10:00:03Z"},
                         {"role": "agent", "text": "Let me look into that for you.", "at": "2026-11-01T10:00:05Z"}]}


@pytest.fixture
def store(tmp_path, speaker, clean_call, write_jsonl, monkeypatch):
    """A store file with a good call, a quiet ordinary call, a corrupt file, an escaping path and a chat."""
    monkeypatch.delenv("CONVOLAB_RECORDINGS", raising=False)
    root = tmp_path / "recordings"
    root.mkdir()
    shutil.copy(clean_call.path, root / "good.wav")
    calm = [(1, "Hi, thanks for calling. How can I help?", 0.6), (0, "I need my balance.", 0.7),
            (1, "Your balance is forty dollars.", 0.8), (0, "Thanks, bye.", 0.6)]
    render(speaker, root, "calm", script=calm)
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    (tmp_path / "outside.wav").write_bytes(clean_call.path.read_bytes())
    source = write_jsonl([_conversation("c-good", "good.wav"), _conversation("c-calm", "calm.wav"),
                          _conversation("c-corrupt", "corrupt.wav"), _conversation("c-escape", "../outside.wav"),
                          _conversation("c-chat", None, "web")])
    db = tmp_path / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(source)
    return db, root


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_store_run_analyses_each_recording_once_and_records_failures_with_reasons(store, tmp_path, monkeypatch):
    db, root = store
    monkeypatch.chdir(tmp_path)  # relative recordings must not resolve here
    code, out, _ = cli("audio", "--db", str(db), "--recordings", str(root), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["recordings_root"] == str(root.resolve())
    assert {k: summary[k] for k in ("total", "analysed", "failed", "unchanged")} == \
        {"total": 4, "analysed": 2, "failed": 2, "unchanged": 0}
    reasons = {f["conversation_id"]: f["reason"] for f in summary["failures"]}
    assert reasons["c-escape"] == "path leaves the recordings root"
    assert "not a readable audio file" in reasons["c-corrupt"]
    # the root was stored: the next run needs no --recordings, and reads nothing it has analysed
    code, out, _ = cli("audio", "--db", str(db))
    assert code == 0
    assert "4 conversations with a recording" in out and "analysed 0, unchanged 3, failed 1" in out
    assert "failed c-escape (../outside.wav): path leaves the recordings root" in out
    assert "1 unchanged recording(s) failed before" in out


def test_store_run_user_mistakes_are_one_line(store, tmp_path):
    db, root = store
    for args, message in [
        (["--db", str(db)], "no recordings folder is known"),
        (["--db", str(db), "--recordings", str(tmp_path / "nope")], "recordings folder does not exist"),
        (["--recordings", str(root)], "--recordings needs --db"),
        (["--db", str(db), str(root / "good.wav")], "not both"),
        (["--db", str(tmp_path / "none.duckdb"), "--recordings", str(root)], "no such store"),
    ]:
        done = subprocess.run([*CLI, "audio", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, (args, done.stdout)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_show_json_has_the_same_audio_metrics_as_a_single_file(store):
    db, root = store
    assert cli("audio", "--db", str(db), "--recordings", str(root))[0] == 0
    code, out, _ = cli("show", "c-good", "--db", str(db), "--json")
    assert code == 0
    audio = json.loads(out)["audio"]
    single = json.loads(cli("audio", str(root / "good.wav"), "--json")[1])
    assert audio["status"] == "ok" and audio["recording"] == "good.wav" and len(audio["content_hash"]) == 64
    for key in ("duration_s", "channels", "talk_s", "talk_ratio", "dead_air", "agent_latency_ms", "interruptions",
                "overtalk_s", "loudness_dbfs", "segments"):
        assert audio[key] == single[key], key
    failed = json.loads(cli("show", "c-corrupt", "--db", str(db), "--json")[1])["audio"]
    assert failed["status"] == "failed" and "not a readable audio file" in failed["reason"]
    assert json.loads(cli("show", "c-chat", "--db", str(db), "--json")[1])["audio"] is None
    code, out, _ = cli("show", "c-good", "--db", str(db))
    assert code == 0
    assert "\nAudio\n" in out and "agent latency: p50" in out and "interruptions: by agent 1, by customer 1" in out
    assert "dead air: 1" in out
    assert "analysis failed:" in cli("show", "c-corrupt", "--db", str(db))[1]


def test_show_says_when_a_recording_is_not_analysed(store):
    db, _root = store
    code, out, _ = cli("show", "c-good", "--db", str(db))
    assert code == 0 and "not analysed yet" in out
    assert json.loads(cli("show", "c-good", "--db", str(db), "--json")[1])["audio"] is None


def test_audio_criteria_fire_on_measured_audio_and_never_without_it(store):
    db, root = store
    with convolab.open(db) as lab:
        criteria = [c for c in load_criteria() if c.name in AUDIO_CRITERIA]
        assert [c.name for c in criteria] == list(AUDIO_CRITERIA)
        assert run_flags(lab, criteria) == dict.fromkeys(AUDIO_CRITERIA, 0)  # nothing analysed: nothing fires
    assert cli("audio", "--db", str(db), "--recordings", str(root))[0] == 0
    with convolab.open(db) as lab:
        # the scripted call has 6.5 s of dead air, a 3.6 s reply and the agent talking over the customer
        assert run_flags(lab, criteria) == dict.fromkeys(AUDIO_CRITERIA, 1)
        flags = {f["criterion"]: f for f in lab.list_flags().to_dicts()}
        assert {f["conversation_id"] for f in flags.values()} == {"c-good"}
        assert "longest 6." in flags["dead_air"]["reason"]
        assert "talked over the customer 1 time(s)" in flags["agent_interrupts_customer"]["reason"]
        evidence = json.loads(flags["slow_agent_latency"]["evidence"])
        assert 3400 <= evidence["agent_latency_max_ms"] <= 3800 and evidence["latency_ms"] == 3000
        features = {r["conversation_id"]: r for r in lab.sql(
            "SELECT conversation_id, talk_ratio, dead_air_count, agent_latency_max_ms FROM _flag_features").to_dicts()}
        assert features["c-calm"]["dead_air_count"] == 0 and features["c-calm"]["agent_latency_max_ms"] < 3000
        for cid in ("c-chat", "c-corrupt", "c-escape"):  # no (good) analysis: NULL, so nothing fires
            assert features[cid]["talk_ratio"] is None and features[cid]["dead_air_count"] is None


def test_features_follow_a_new_analysis_and_a_changed_recording_path(store):
    db, root = store
    assert cli("audio", "--db", str(db), "--recordings", str(root))[0] == 0
    criteria = [c for c in load_criteria() if c.name == "dead_air"]
    with convolab.open(db) as lab:
        assert run_flags(lab, criteria) == {"dead_air": 1}
        # the conversation now names another file: the old analysis no longer speaks for it
        lab.execute("UPDATE conversations SET recording = 'calm.wav', content_hash = 'changed' WHERE id = 'c-good'")
        assert run_flags(lab, criteria) == {"dead_air": 0}
    # the same content under a new name is not analysed again, and its analysis follows the name
    shutil.copy(root / "good.wav", root / "renamed.wav")
    with convolab.open(db) as lab:
        lab.execute("UPDATE conversations SET recording = 'renamed.wav', content_hash = 'renamed' WHERE id = 'c-good'")
    code, out, _ = cli("audio", "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["analysed"] == 0
    with convolab.open(db) as lab:
        assert run_flags(lab, criteria) == {"dead_air": 1}


def test_eval_flags_reports_the_audio_criteria(store):
    db, root = store
    assert cli("audio", "--db", str(db), "--recordings", str(root))[0] == 0
    with convolab.open(db) as lab:
        lab.executemany("INSERT INTO ground_truth VALUES (?, ?, 'test')",
                        [("c-good", name) for name in AUDIO_CRITERIA])
    code, out, _ = cli("eval-flags", "--db", str(db), "--json")
    assert code == 0
    rows = {r["criterion"]: r for r in json.loads(out)["criteria"]}
    for name in AUDIO_CRITERIA:
        assert (rows[name]["precision"], rows[name]["recall"], rows[name]["support"]) == (1.0, 1.0, 1), name


def test_call_timeline_marks_dead_air_overtalk_and_transcript_lines(store, clean_call):
    from convolab.audio import call_timeline

    db, root = store
    assert cli("audio", "--db", str(db), "--recordings", str(root))[0] == 0
    with convolab.open(db) as lab:
        tl = call_timeline(lab, "c-good")
        assert tl["available"] and tl["analysis"] == "ok"
        assert tl["duration_s"] == pytest.approx(clean_call.truth["duration_s"], abs=0.01)
        assert len(tl["dead_air"]) == 1 and tl["dead_air"][0][1] - tl["dead_air"][0][0] >= 6.0
        # both interruptions (0.8 s and 0.7 s of overlap) show as overtalk, by whom in interruptions
        long_overtalk = [o for o in tl["overtalk"] if o[1] - o[0] >= 0.5]
        assert len(long_overtalk) == 2 and sorted(i["by"] for i in tl["interruptions"]) == ["agent", "customer"]
        for lane in ("customer", "agent"):  # the lanes hold each side's speech as analysed
            truth = [(s, e) for c, s, e in clean_call.intervals if c == (0 if lane == "customer" else 1)]
            assert len(tl["lanes"][lane]) == len(truth)
        assert [(m["t"], m["role"]) for m in tl["transcript"]] == [(3.0, "customer"), (5.0, "agent")]
        failed = call_timeline(lab, "c-escape")
        assert not failed["available"] and failed["problem"] == "path leaves the recordings root"
        assert failed["analysis"] == "failed" and failed["lanes"] == {}
        chat = call_timeline(lab, "c-chat")
        assert chat["recording"] is None and not chat["available"]


def test_demo_stores_the_recordings_root_and_analyses_its_calls(tmp_path):
    db = tmp_path / "demo.duckdb"
    done = subprocess.run([*CLI, "demo", "--no-serve", "--conversations", "20", "--audio-calls", "2", "--db", str(db)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "4. call recordings: analysed 2 call recordings (0 unchanged, 0 failed)" in done.stdout
    from convolab.audio import stored_recordings_root

    with convolab.open(db) as lab:
        assert stored_recordings_root(lab) == (tmp_path / "demo-audio").resolve()
        assert lab.execute("SELECT count(*) FROM audio_analyses WHERE status = 'ok'").scalar() == 2
    # the audio criteria ran with the others, after the analysis
    assert "5. review flags:" in done.stdout and "slow_agent_latency=" in done.stdout


def test_audio_criteria_meet_the_bars_on_the_generators_planted_truth(tmp_path):
    """Generated calls, spoken, analysed, flagged: every audio criterion finds its planted truth."""
    from convolab.flags import evaluate_flags

    with convolab.open(recorded_store(tmp_path, 40, seed=7, calls=10)) as lab:
        frame = evaluate_flags(lab, [c for c in load_criteria() if c.name in AUDIO_CRITERIA])
    for r in frame.to_dicts():
        assert r["support"] > 0, r  # the seed plants each condition in its first 10 calls
        assert r["recall"] >= 0.9 and r["precision"] >= 0.8, r
