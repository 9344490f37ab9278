"""Loading the three formats: what loads, what is quarantined (file, line, reason), idempotence."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

import convolab
from convolab.errors import SourceNotReadable
from convolab.ingest import detect_format

from .conftest import conversation

DATA = Path(__file__).parent / "data"


def test_good_record_loads_every_part(lab, write_jsonl):
    report = lab.ingest(write_jsonl([conversation()]))
    assert (report.loaded, report.rejected) == (1, 0)
    d = lab.conversation("c-1")
    assert d["status"] == "completed" and d["duration_s"] == 252.0
    assert d["tags"] == {"call_reason": "billing", "issue": "high bill", "language": "en"}
    assert d["parameters"] == {"account_id": "A-1"}
    assert [m["role"] for m in d["transcript"]] == ["customer", "agent"]
    assert d["functions"][0]["name"] == "lookup_account"
    assert d["functions"][0]["output"] == {"account_id": "A-1"}


def test_mixed_file_loads_good_lines_and_reports_each_bad_one(lab, tmp_path):
    lines = [
        json.dumps(conversation("ok-1")),
        "{this is not json",
        json.dumps(conversation(5)),
        json.dumps(conversation("bad-ts", started_at="yesterday")),
        "",  # blank lines are skipped but still counted for line numbers
        json.dumps({k: v for k, v in conversation().items() if k != "id"}),
        json.dumps(conversation("ok-1")),
        json.dumps(conversation("bad-role", messages=[{"role": "robot", "text": "beep"}])),
        json.dumps([1, 2, 3]),
        json.dumps(conversation("ok-2", status="human_handoff")),
        json.dumps(conversation("bad-type", messages={"role": "customer"})),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "utf", "flow": "\xff\xfe"}\n')
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (2, 9)
    reasons = {line: reason for _, line, reason in report.reasons(20)}
    assert reasons == {
        2: "invalid JSON",
        3: "id must be a string, got number",
        4: 'bad timestamp in started_at: "yesterday"',
        6: "missing id",
        7: "duplicate id ok-1 in this file (first seen on line 1)",
        8: "message 0: unknown role robot",
        9: "record is not a JSON object",
        11: "messages must be a list, got object",
        12: "line is not valid UTF-8",
    }
    rejected = lab.list_rejected()
    assert rejected.height == 9 and set(rejected["file"]) == {str(path)}
    assert rejected.filter(pl.col("line") == 2)["record"][0] == "{this is not json"
    assert lab.conversation("ok-2")["status"] == "transferred"  # human_handoff is an alias


def test_reloading_is_idempotent_and_a_changed_record_replaces_the_old(lab, write_jsonl):
    path = write_jsonl([conversation("a"), conversation("b")])
    assert lab.ingest(path).loaded == 2
    again = lab.ingest(path)
    assert (again.loaded, again.unchanged) == (0, 2)
    changed = conversation("a", status="abandoned", messages=[{"role": "customer", "text": "hello?"}])
    report = lab.ingest(write_jsonl([changed], name="changed.jsonl"))
    assert report.loaded == 1
    assert lab.count_conversations() == 2
    assert lab.conversation("a")["status"] == "abandoned"
    assert lab.transcript("a")["text"].to_list() == ["hello?"]  # old messages are gone


def test_gzip_and_timestamps_are_normalised_to_utc(lab, tmp_path):
    record = conversation(started_at="2026-11-01T12:00:00+02:00", ended_at=1793527500,
                          messages=[{"role": "customer", "text": "hi", "at": "2026-11-01T10:00:30.5Z"}])
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(record) + "\n")
    assert lab.ingest(path).loaded == 1
    d = lab.conversation("c-1")
    assert str(d["started_at"]) == "2026-11-01 10:00:00"
    assert str(d["ended_at"]) == "2026-11-01 10:05:00"
    assert str(d["transcript"][0]["sent_at"]) == "2026-11-01 10:00:30.500000"


def test_openai_dialogues_account_for_every_message_and_tool_call(lab):
    path = DATA / "openai_dialogues.jsonl"
    assert detect_format(path) == "openai"
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (2, 0)
    weather = lab.conversation("oa-weather-1")
    assert [m["role"] for m in weather["transcript"]] == [
        "system", "customer", "agent", "customer", "agent", "agent", "customer", "agent"]
    assert weather["transcript"][-1]["text"] == "Done! Your confirmation is TK-2231."
    calls = weather["functions"]
    assert [c["name"] for c in calls] == ["get_current_weather", "get_current_weather",
                                          "book_restaurant", "book_restaurant"]
    assert calls[0]["arguments"] == {"location": "Paris, France", "unit": "celsius"}
    assert calls[1]["output"] == {"temperature": 17, "conditions": "clear"}
    assert [c["status"] for c in calls] == ["ok", "ok", "error", "ok"]
    assert calls[3]["output"] == "Booked: confirmation TK-2231"
    support = lab.conversation("oa-support-2")
    assert len(support["transcript"]) == 4 and len(support["functions"]) == 1
    assert support["duration_s"] == 300.0


def test_tool_message_without_its_call_is_rejected(lab, write_jsonl):
    record = {"id": "x", "platform": "web", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_zzz", "content": "42"}]}
    report = lab.ingest(write_jsonl([record]), format="openai")
    assert report.rejected == 1
    assert "tool_call_id call_zzz, which no assistant message called" in report.reasons()[0][2]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tabular_one_row_per_message_with_mapping(lab, tmp_path, suffix):
    rows = pl.DataFrame({
        "conv": ["t-1", "t-1", "t-1", "t-2", "t-2"],
        "speaker": ["user", "assistant", "user", "customer", "agent"],
        "utterance": ["My order is late", "Let me check", "Thanks", "Hello", "Hi there"],
        "ts": ["2026-11-01T10:00:00Z", "2026-11-01T10:00:04Z", "2026-11-01T10:00:09Z",
               "1793527200", "1793527203"],
        "channel": ["web", "web", "web", "phone", "phone"],
        "flow": ["Order Status"] * 3 + ["Tech Support"] * 2,
    })
    path = tmp_path / f"messages.{suffix}"
    rows.write_csv(path) if suffix == "csv" else rows.write_parquet(path)
    report = lab.ingest(path, mapping={"conversation_id": "conv", "role": "speaker", "text": "utterance",
                                       "timestamp": "ts", "platform": "channel"})
    assert (report.loaded, report.rejected) == (2, 0)
    d = lab.conversation("t-1")
    assert [m["role"] for m in d["transcript"]] == ["customer", "agent", "customer"]
    assert d["flow"] == "Order Status" and d["platform"] == "web" and d["duration_s"] == 9.0


def test_csv_bad_rows_are_quarantined_with_their_line(lab, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("conversation_id,role,text,timestamp\n"
                    "k-1,customer,hello,2026-11-01T10:00:00Z\n"
                    "k-2,customer,hi,not-a-time\n"
                    "k-2,alien,beep,2026-11-01T10:00:00Z\n")
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (1, 1)
    (_, line, reason), = report.reasons()
    # the conversation's line is its first row; the reason names the offending row
    assert line == 3 and reason in ("line 3: bad timestamp: not-a-time", "line 4: unknown role alien")


def test_missing_file_fails_before_loading_anything(lab, write_jsonl, tmp_path):
    good = write_jsonl([conversation()])
    with pytest.raises(SourceNotReadable, match="no such file"):
        lab.ingest([good, tmp_path / "missing.jsonl"])
    assert lab.count_conversations() == 0


def test_directory_and_unknown_format_are_clear_errors(lab, tmp_path):
    with pytest.raises(SourceNotReadable, match="is a directory"):
        lab.ingest(tmp_path)
    with pytest.raises(convolab.InvalidRecord, match="unknown format"):
        lab.ingest(tmp_path / "x.jsonl", format="xml")
