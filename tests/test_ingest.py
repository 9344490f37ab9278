"""Loading the three formats: what loads, what is quarantined (file, line, reason), idempotence."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

import convolab
from convolab.errors import InvalidArgument, SourceNotReadable
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
    with pytest.raises(InvalidArgument, match="unknown format"):
        lab.ingest(tmp_path / "x.jsonl", format="xml")


# --- the canonical fast path ------------------------------------------------------------

_TABLES = {
    "conversations": "SELECT * EXCLUDE (ingested_at, source_file) FROM conversations ORDER BY id",
    "messages": "SELECT * FROM messages ORDER BY conversation_id, seq",
    "function_calls": "SELECT * FROM function_calls ORDER BY conversation_id, seq",
    "tags": "SELECT * FROM tags ORDER BY conversation_id, key",
    "parameters": "SELECT * FROM parameters ORDER BY conversation_id, key",
    "ground_truth": "SELECT * FROM ground_truth ORDER BY ALL",
    "rejected": "SELECT line, conversation_id, reason, record FROM rejected_records ORDER BY line",
}


def _tricky_but_mostly_valid() -> list[str]:
    """Records that exercise every corner where a typed parse could differ from the exact one."""
    records = [
        conversation("esc", summary='quote " backslash \\ tab \t caf\u00e9 \U0001f600', flow="caf\u00e9"),
        conversation("plain", flow="\u0301starts with a combining mark", contact="\U0001f600", summary=""),
        conversation("num-tags", tags={"n": 1.50, "b": True, "z": None, "o": {"k": [1, 2]}, "s": "x\u00e9"}),
        conversation("epoch", started_at=1793527200, ended_at=1793527500,
                     messages=[{"role": "customer", "text": "hi", "at": 1793527201}]),
        conversation("digits", messages=[{"role": "customer", "text": "5 stars"},
                                         {"role": "agent", "text": "[bracketed]"},
                                         {"role": "agent", "text": "true"},
                                         {"role": "agent", "text": None},
                                         {"role": "agent", "text": ""}]),
        conversation("no-fn", functions=[], tags={}, ground_truth=["function_failed", "function_failed"]),
        conversation("nulls", flow=None, contact=None, recording=None, status=None, platform=None,
                     started_at=None, ended_at=None, tags=None, parameters=None, functions=None),
        conversation("null-scalars", flow=None, contact=None, recording=None, status=None, platform=None,
                     started_at=None, summary=None),
        conversation("odd-texts", messages=[{"role": "agent", "text": None}, {"role": "agent", "text": ""},
                                            {"role": "agent"}, {"role": "customer", "text": "\\u0041 \u2028"}]),
        conversation("extra", channel_id=7, nested={"a": [1]}),
        json.dumps(conversation("dup-key"))[:-1] + ', "flow": "second", "id": "dup-key-2"}',
        conversation("offsets", started_at="2026-11-01T12:00:00+02:00", ended_at="2026-11-01 10:05:00",
                     messages=[{"role": "system", "text": "x", "at": "2026-11-01T10:00:30.5Z", "mood": "ok"}]),
        conversation("fn-odd", functions=[{"name": "f", "arguments": "not json", "output": [1, {"a": None}]},
                                          {"name": "g", "status": "error", "at": "2026-11-01T10:00:21Z"}]),
        # bad ones, each for a different reason
        conversation("bad-text", messages=[{"role": "customer", "text": 5}]),
        conversation("bad-at", messages=[{"role": "customer", "text": "x", "at": "soon"}]),
        conversation("bad-status", status="done"),
        conversation("bad-platform", platform="fax"),
        conversation("bad-fn", functions=[{"arguments": {}}]),
        conversation("bad-gt", ground_truth=["a", None]),
        conversation("bad-order", started_at="2026-11-01T10:05:00Z", ended_at="2026-11-01T10:00:00Z"),
        conversation("bad-tags", tags=["billing"]),
        '{"id": "dup-key-tags", "platform": "web", "messages": [], "tags": {"a": "1", "b": 2, "a": "3"}}',
        conversation(" "),
        conversation("esc"),  # duplicate id
        "   ",
        "\t",
        '{"id": "truncated", "messages": [',
        "42",
    ]
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


def _snapshot(lab) -> dict[str, list]:
    return {name: lab.sql(query).rows() for name, query in _TABLES.items()}


def test_fast_path_stores_exactly_what_the_exact_path_stores(tmp_path, sample_jsonl, monkeypatch):
    from convolab.ingest import jsonl

    lines = sample_jsonl.read_text().splitlines() + _tricky_but_mostly_valid()
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with convolab.open(tmp_path / "fast.duckdb") as fast:
        fast_report = fast.ingest(path)
        fast_rows = _snapshot(fast)
    monkeypatch.setattr(jsonl, "FAST_PATH", False)
    with convolab.open(tmp_path / "exact.duckdb") as exact:
        exact_report = exact.ingest(path)
        exact_rows = _snapshot(exact)
    assert fast_report.to_dict() == exact_report.to_dict()
    assert fast_report.rejected == 12
    # a repeated top-level key: both paths take the same occurrence (DuckDB's reader: the first)
    assert ("dup-key",) in [r[:1] for r in fast_rows["conversations"]]
    assert ("dup-key-tags", "a", "3") in fast_rows["tags"]  # a repeated key keeps its last value
    for name in _TABLES:
        assert fast_rows[name] == exact_rows[name], name


def test_clean_generated_data_never_takes_the_exact_path(lab, sample_jsonl):
    from convolab.ingest import jsonl
    from convolab.ingest.staging import install_macros

    install_macros(lab)
    assert jsonl.stage(lab, sample_jsonl) == 0


def test_fast_path_line_numbers_survive_blank_lines_and_a_duplicate(lab, tmp_path):
    lines = []
    for i in range(3000):
        lines.append(json.dumps(conversation(f"k-{i}")))
        if i % 7 == 0:
            lines.append("")
    lines.insert(100, "{oops")
    lines.insert(2001, json.dumps(conversation("k-5")))
    lines.append(json.dumps(conversation("k-9", status=3)))
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines))  # no newline at the end
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (3000, 3)
    reasons = {line: reason for _, line, reason in report.reasons()}
    first_k5 = lines.index(json.dumps(conversation("k-5"))) + 1
    assert reasons == {101: "invalid JSON",
                       2002: f"duplicate id k-5 in this file (first seen on line {first_k5})",
                       len(lines): "status must be a string, got number"}
    rejected = lab.list_rejected()
    assert rejected.filter(pl.col("line") == 2002)["record"][0] == json.dumps(conversation("k-5"))
    source_line = lab.sql("SELECT source_line FROM conversations WHERE id = 'k-2999'").item()
    assert source_line == lines.index(json.dumps(conversation("k-2999"))) + 1


def test_crlf_file_loads_with_the_python_splitter(lab, tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\r\n".join(json.dumps(conversation(f"w-{i}")).encode() for i in range(3)) + b"\r\n\r\n")
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (3, 0)


def test_line_numbers_hold_when_the_file_is_read_in_parallel_pieces(lab, tmp_path, monkeypatch):
    from convolab.generate import generate_conversations
    from convolab.ingest import jsonl, sources

    lines = []
    for i, record in enumerate(generate_conversations(1500, seed=5)):
        lines.append(json.dumps(record))
        if i % 97 == 0:
            lines.append("")
    lines[700] = lines[700].replace('"role": "customer"', '"role": "robot"', 1)
    path = tmp_path / "pieces.jsonl"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(sources, "BUFFER_BYTES", 1 << 16)  # ~40 pieces
    fallbacks = []
    monkeypatch.setattr(jsonl, "load_lines", lambda *a: fallbacks.append(a))
    lab.execute("SET threads = 4")
    report = lab.ingest(path)
    assert fallbacks == []  # the parallel reader's order-keeping plan was used
    assert report.rejected == 1 and report.reasons()[0][1] == 701
    stored = lab.sql("SELECT id, source_line FROM conversations").rows()
    assert len(stored) == report.loaded == 1499
    assert all(json.loads(lines[line - 1])["id"] == cid for cid, line in stored)
