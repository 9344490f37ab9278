"""Sample call recordings for generated phone conversations: timing, planting, truth, files."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime

import pytest

from convolab.audio import analyse_file
from convolab.audio.sample_calls import (
    AUDIO_LABELS,
    AUDIO_PLANTED,
    SLOW_LATENCY_S,
    SampleCallWriter,
    call_truth,
    plan_call,
    recordable,
)
from convolab.generate import generate_conversations, write_conversations


def _fake_speech(record):
    # about 2.6 words a second, like espeak-ng's voices: enough to test the layout without audio
    return lambda k: 0.35 + 0.38 * len(record["messages"][k]["text"].split())


@pytest.fixture(scope="module")
def plans():
    out = []
    for i, record in enumerate(generate_conversations(1500, seed=11), 1):
        if recordable(record):
            plan = plan_call(record, _fake_speech(record), random.Random(f"t:{i}"))
            out.append((record, plan, call_truth(plan)))
    return out


def test_audio_conditions_are_planted_at_realistic_rates(plans):
    n = len(plans)
    assert n > 500
    planted = Counter(c for _, p, _ in plans for c in p.planted)
    for condition, rate in AUDIO_PLANTED.items():
        assert 0.5 * rate < planted[condition] / n < 1.5 * rate, condition
    labels = Counter(label for _, _, t in plans for label in t["labels"])
    assert set(labels) == set(AUDIO_LABELS)
    for label in AUDIO_LABELS:
        assert 0.03 < labels[label] / n < 0.25, label


def test_what_is_planted_is_in_the_truth_and_ordinary_calls_stay_clear_of_every_threshold(plans):
    for record, plan, truth in plans:
        latencies = [r["latency_ms"] for r in truth["events"]["agent_replies"]]
        if "dead_air" in plan.planted:
            assert truth["dead_air"]["count"] >= 1
        if "agent_interrupts_customer" in plan.planted:
            assert truth["interruptions"]["agent"] == 1
        if "customer_interrupts_agent" in plan.planted:
            assert truth["interruptions"]["customer"] == 1
        if "slow_agent_latency" in plan.planted:
            assert max(latencies) >= 3400
        long_waits = {"slow_agent_response", "abandoned_after_wait", "duration_anomaly"} & set(record["ground_truth"])
        if not plan.planted and not long_waits:
            assert truth["labels"] == [] and truth["interruptions"] == {"agent": 0, "customer": 0}
            assert all(-150 < lat < 2000 for lat in latencies)
            # no gap anywhere near the 5 s threshold, no overlap near 300 ms: the truth is unambiguous
            assert not truth["events"]["dead_air"]
        for o in (e["overlap_s"] for e in truth["events"]["interruptions"]):
            assert o >= 0.5
        assert ("slow_agent_latency" in truth["labels"]) == (bool(latencies) and max(latencies) >= SLOW_LATENCY_S * 1000)


def test_the_generators_long_waits_are_kept(plans):
    slow = [(r, t) for r, _, t in plans if "slow_agent_response" in r["ground_truth"]]
    assert slow
    for _record, truth in slow:
        assert max(r["latency_ms"] for r in truth["events"]["agent_replies"]) >= 18_000
        assert "dead_air" in truth["labels"] and "slow_agent_latency" in truth["labels"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    out = folder / "calls.jsonl"
    write_conversations(out, 14, seed=5, audio=folder / "audio", audio_calls=3)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return folder, records


def test_generate_with_audio_writes_recordings_and_retimed_transcripts(written):
    folder, records = written
    plain = list(generate_conversations(14, seed=5))
    recorded = [r for r in records if r["recording"]]
    assert len(recorded) == 3  # audio_calls caps it
    for r, p in zip(records, plain, strict=True):
        if r["recording"] is None:
            if r["platform"] == "phone":
                assert {**r, "recording": p["recording"]} == p  # beyond the cap: untouched, no recording
            else:
                assert r == p  # web chats are untouched
            continue
        assert [m["text"] for m in r["messages"]] == [m["text"] for m in p["messages"]]
        assert set(p["ground_truth"]) <= set(r["ground_truth"]) <= set(p["ground_truth"]) | set(AUDIO_LABELS)
        sidecar = json.loads((folder / "audio" / f"{r['id']}.truth.json").read_text())
        assert (folder / "audio" / r["recording"]).is_file() and sidecar["recording"] == r["recording"]
        assert sorted(set(r["ground_truth"]) & set(AUDIO_LABELS)) == sorted(sidecar["labels"])
        t0 = datetime.fromisoformat(r["started_at"].replace("Z", "+00:00"))
        for u in sidecar["utterances"]:  # each spoken message is at its transcript time, to the millisecond
            at = datetime.fromisoformat(r["messages"][u["message"]]["at"].replace("Z", "+00:00"))
            assert abs((at - t0).total_seconds() - u["start_s"]) < 0.002
        end = datetime.fromisoformat(r["ended_at"].replace("Z", "+00:00"))
        assert abs((end - t0).total_seconds() - sidecar["duration_s"]) < 0.002


def test_recordings_match_their_truth(written):
    folder, records = written
    for r in (r for r in records if r["recording"]):
        truth = json.loads((folder / "audio" / f"{r['id']}.truth.json").read_text())
        doc = analyse_file(folder / "audio" / r["recording"])
        assert doc["duration_s"] == pytest.approx(truth["duration_s"], abs=0.01)
        assert doc["dead_air"]["count"] == truth["dead_air"]["count"]
        assert doc["interruptions"] == truth["interruptions"]
        assert doc["agent_latency_ms"]["n"] == truth["agent_latency_ms"]["n"]
        assert abs(doc["talk_ratio"] - truth["talk_ratio"]) <= 0.05


def test_generated_calls_load_into_the_store(written, lab):
    folder, _ = written
    report = lab.ingest(folder / "calls.jsonl")
    assert report.rejected == 0 and report.loaded == 14
    ms = lab.sql("SELECT count(*) AS n FROM messages WHERE extract('millisecond' FROM sent_at) % 1000 <> 0")
    assert ms["n"][0] > 0  # re-timed messages keep their milliseconds


def test_same_seed_same_recordings(tmp_path):
    records = [r for r in generate_conversations(12, seed=5) if recordable(r)][:2]
    a = SampleCallWriter(tmp_path / "a", seed=5)
    b = SampleCallWriter(tmp_path / "b", seed=5)
    ra = [a.record_call(r, i) for i, r in enumerate(records)]
    rb = [b.record_call(r, i) for i, r in enumerate(records)]
    assert ra == rb
    for r in ra:
        assert (tmp_path / "a" / r["recording"]).read_bytes() == (tmp_path / "b" / r["recording"]).read_bytes()


def test_retimed_calls_keep_the_transcript_criteria_true(plans):
    # duration_anomaly must stay long, slow_agent_response slow, abandoned_after_wait waiting
    import statistics

    ordinary = [p.duration_s for r, p, _ in plans if not r["ground_truth"]]
    anomalies = [p.duration_s for r, p, _ in plans if "duration_anomaly" in r["ground_truth"]]
    assert anomalies and min(anomalies) >= 4 * statistics.median(ordinary)
    for record, plan, _ in plans:
        if "abandoned_after_wait" in record["ground_truth"]:
            last_customer = max(u.end_s for u in plan.utterances if u.role == "customer")
            assert plan.duration_s - last_customer >= 20


def test_no_true_silence_or_latency_sits_near_a_threshold(plans):
    # a 5.02 s silence would make the truth depend on milliseconds of detection
    for _, _, truth in plans:
        gaps = [e["end_s"] - e["start_s"] for e in truth["events"]["dead_air"]]
        assert all(g >= 5.3 for g in gaps)
        assert all(abs(r["latency_ms"] - 3000) >= 300 for r in truth["events"]["agent_replies"])
