"""The sample-data generator: realistic, deterministic, streaming."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections import Counter

from convolab.conversations import STATUSES
from convolab.generate import FLOWS, PLANTED, generate_conversations, write_conversations


def test_same_seed_same_data_and_different_seed_different_data():
    a = list(generate_conversations(50, seed=3))
    assert a == list(generate_conversations(50, seed=3))
    assert a != list(generate_conversations(50, seed=4))
    assert list(generate_conversations(10, seed=3)) == a[:10]  # record i does not depend on n


def test_realistic_mix_of_flows_statuses_platforms_and_emotions():
    records = list(generate_conversations(3000, seed=1))
    flows = Counter(r["flow"] for r in records)
    assert len(flows) >= 6 and {"Disgruntled Customer", "Utilities Inbound"} <= set(flows)
    statuses = Counter(r["status"] for r in records)
    assert set(statuses) == set(STATUSES)
    assert statuses["completed"] / len(records) > 0.5  # most calls go fine
    assert {r["platform"] for r in records} == {"phone", "web"}
    phones = [r["contact"] for r in records if r["platform"] == "phone"]
    assert all(p.startswith("+1555555") for p in phones)  # fictional 555 numbers only
    assert any(f["status"] == "error" for r in records for f in r["functions"])
    assert all({"call_reason", "language", "issue"} <= set(r["tags"]) for r in records)
    assert all(r["parameters"]["account_id"].startswith("A-") for r in records)
    text = " ".join(m["text"] for r in records for m in r["messages"] if m["role"] == "customer").lower()
    for cue in ("thank", "confused", "furious", "curious", "relief"):
        assert cue in text


def test_planted_conditions_are_recorded_at_realistic_rates():
    records = list(generate_conversations(4000, seed=2))
    planted = Counter(c for r in records for c in r["ground_truth"])
    assert set(planted) == set(PLANTED)
    for criterion, count in planted.items():
        assert 0.005 < count / len(records) < 0.15, criterion


def test_streams_gzip_to_disk_without_holding_records(tmp_path):
    path = tmp_path / "big.jsonl.gz"
    tracemalloc.start()
    write_conversations(path, 20_000, seed=5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # 20k records are ~40 MB of JSON; only one is held at a time
    with gzip.open(path, "rt") as fh:
        lines = fh.readlines()
    assert len(lines) == 20_000 and json.loads(lines[-1])["id"] == "c-0020000"
    assert len(FLOWS) >= 6
