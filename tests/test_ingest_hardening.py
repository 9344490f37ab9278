"""Input convolab did not write: damaged gzip, impossible times, deep nesting, odd ids, huge values (issue #15).

Each case is rerun the way the issue checks it: no traceback, nothing stored that
cannot be read and deleted again, no record silently lost or renamed.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import polars as pl
import pytest

import convolab
from convolab.errors import DamagedSource, InvalidArgument
from convolab.generate import write_conversations
from convolab.ingest import Limits
from convolab.ingest.validate import json_depth

from .conftest import conversation


def _reasons(lab) -> dict[int, str]:
    """Line -> reason of every quarantined record (a report lists only the first 20 per file)."""
    return dict(lab.sql("SELECT line, reason FROM rejected_records").rows())


def _assert_store_usable(lab) -> None:
    """Every stored conversation can be listed, shown, exported and deleted (the issue's check)."""
    ids = lab.list_conversations(limit=None)["id"].to_list()
    for cid in ids:
        lab.conversation(cid)
        for fmt in ("txt", "json", "csv"):
            lab.export(cid, fmt)
    for cid in ids:
        lab.delete(cid)
    assert lab.count_conversations() == 0


# --- damaged compressed input ---------------------------------------------------------------


@pytest.fixture(scope="module")
def good_gz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_conversations(tmp_path_factory.mktemp("gz") / "good.jsonl.gz", 400, seed=3)


def _damaged(good: Path, tmp_path: Path, how: str) -> Path:
    data = bytearray(good.read_bytes())
    if how.startswith("flip"):  # one bit in the deflate data, at a fraction of the file
        pos = int(len(data) * float(how.split("@")[1]))
        data[pos] ^= 0x10
    elif how == "truncated":
        data = data[: len(data) * 2 // 3]
    elif how == "header-only":
        data = data[:10]
    elif how == "crc":  # the stored CRC-32 itself
        data[-6] ^= 0x01
    elif how == "length":  # the stored length (ISIZE)
        data[-3] ^= 0x01
    elif how == "garbage-after":
        data += b"this is not gzip"
    elif how == "bad-method":
        data[2] = 0x07
    path = tmp_path / f"{how.replace('@', '-')}.jsonl.gz"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["flip@0.2", "flip@0.5", "flip@0.9", "truncated", "header-only", "crc", "length",
                                 "garbage-after", "bad-method"])
def test_damaged_gzip_is_refused_whole_and_says_how_far_it_got(lab, good_gz, tmp_path, write_jsonl, how):
    damaged = _damaged(good_gz, tmp_path, how)
    with pytest.raises((OSError, EOFError, zlib.error)):  # Python's gzip agrees it is damaged
        gzip.decompress(damaged.read_bytes())
    plain = write_jsonl([conversation("other-file")])
    with pytest.raises(DamagedSource) as caught:
        lab.ingest([plain, damaged])
    message = str(caught.value)
    assert str(damaged) in message and "nothing from this file was loaded" in message
    assert " lines (" in message  # how far decompression got
    assert caught.value.compressed_size == damaged.stat().st_size
    # The whole call stops before loading anything: no partial file, no renamed ids.
    assert lab.count_conversations() == 0
    assert lab.list_rejected().height == 0


def test_truncated_gzip_reports_complete_lines_and_what_is_missing(lab, good_gz, tmp_path):
    damaged = _damaged(good_gz, tmp_path, "truncated")
    prefix = zlib.decompressobj(31).decompress(damaged.read_bytes())  # all a truncated stream holds
    with pytest.raises(DamagedSource, match="truncated") as caught:
        lab.ingest(damaged)
    lines = prefix.count(b"\n")
    assert (caught.value.lines, caught.value.bytes_out) == (lines, len(prefix))
    assert f"{lines:,} complete lines" in str(caught.value)
    assert "the rest of the file (an unknown number of records) is missing" in str(caught.value)


def test_whole_gzip_with_several_members_and_padding_loads(lab, good_gz, tmp_path):
    joined = tmp_path / "joined.jsonl.gz"
    extra = gzip.compress((json.dumps(conversation("second-member")) + "\n").encode())
    joined.write_bytes(good_gz.read_bytes() + extra + b"\x00" * 512)
    report = lab.ingest(joined)
    assert (report.loaded, report.rejected) == (401, 0)


@pytest.mark.parametrize("name", ["bzip2", "xz", "zstd"])
def test_other_compressions_are_named_not_read_as_garbage(lab, tmp_path, name):
    import bz2
    import lzma

    line = (json.dumps(conversation()) + "\n").encode()
    data = {"bzip2": bz2.compress(line), "xz": lzma.compress(line),
            "zstd": b"\x28\xb5\x2f\xfd" + b"\x00" * 40}[name]
    path = tmp_path / "calls.jsonl.x"
    path.write_bytes(data)
    with pytest.raises(convolab.errors.SourceNotReadable, match=f"{name}-compressed"):
        lab.ingest(path)


def test_a_csv_whose_header_starts_like_bzip2_still_loads(lab, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("BZh_chat,role,text\nk,customer,hi\n")
    assert lab.ingest(path, mapping={"conversation_id": "BZh_chat"}).loaded == 1


# --- timestamps convolab cannot represent --------------------------------------------------

OUT_OF_RANGE = [
    ("-0044-03-15T12:00:00Z", "year -44"),
    ("0000-01-01T00:00:00Z", "year 0"),
    ("10000-01-01T00:00:00Z", "year 10000"),
    ("9999-12-31T23:59:59Z", "year 9999"),
    ("1969-12-31T23:59:59Z", "year 1969"),
    ("2200-01-01T00:00:00Z", "year 2200"),
    (-86400, "year 1969"),
    (1e20, "year"),
]
BAD_OFFSETS = ["2026-11-01T10:00:00+25:00", "2026-11-01T10:00:00+14:30", "2026-11-01T10:00:00-13:00",
               "2026-11-01T10:00:00+99:99", "Tue Oct 31 21:45:10 +2500 2017"]


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "exact-path"])
def test_timestamps_out_of_range_are_rejected_with_line_and_reason(lab, write_jsonl, monkeypatch, fast):
    from convolab.ingest import jsonl

    monkeypatch.setattr(jsonl, "FAST_PATH", fast)
    records = [conversation("good")]
    for k, (value, _) in enumerate(OUT_OF_RANGE):
        records.append(conversation(f"start-{k}", started_at=value))
        records.append(conversation(f"msg-{k}", messages=[{"role": "customer", "text": "x", "at": value}]))
        records.append(conversation(f"fn-{k}", functions=[{"name": "f", "at": value}]))
    for k, value in enumerate(BAD_OFFSETS):
        records.append(conversation(f"offset-{k}", ended_at=value))
    report = lab.ingest(write_jsonl(records))
    assert (report.loaded, report.rejected) == (1, len(records) - 1)
    reasons = _reasons(lab)
    for k, (_, year) in enumerate(OUT_OF_RANGE):
        line = 2 + 3 * k
        if year != "year":  # 1e20 is absurd by magnitude: it reads as no time at all
            assert reasons[line].startswith("timestamp out of range in started_at: " + year), reasons[line]
            assert reasons[line + 1].startswith("timestamp out of range in message 0 at: " + year)
            assert reasons[line + 2].startswith("timestamp out of range in function 0 at: " + year)
            assert reasons[line].endswith("(accepted: 1970-01-01 to 2199-12-31 UTC)")
        else:
            assert "started_at" in reasons[line]
    for k in range(len(BAD_OFFSETS)):
        assert reasons[2 + 3 * len(OUT_OF_RANGE) + k].endswith("(UTC offset outside -12:00..+14:00)")
    _assert_store_usable(lab)


def test_range_edges_and_real_offsets_load(lab, write_jsonl):
    records = [
        conversation("lo", started_at="1970-01-01T00:00:00Z", ended_at="1970-01-01T00:00:01Z",
                     messages=[{"role": "customer", "text": "x", "at": 0}], functions=[]),
        conversation("hi", started_at="2199-12-31T23:00:00Z", ended_at="2199-12-31T23:59:59.999Z",
                     messages=[{"role": "customer", "text": "x", "at": "2199-12-31T23:30:00+14:00"}], functions=[]),
        conversation("west", started_at="2026-11-01T10:00:00-12:00", ended_at="2026-11-02T05:00:00+0545",
                     messages=[{"role": "customer", "text": "x", "at": "2026-11-01T12:00:00-03:30"}], functions=[]),
    ]
    report = lab.ingest(write_jsonl(records))
    assert (report.loaded, report.rejected) == (3, 0), report.reasons()
    assert str(lab.conversation("west")["started_at"]) == "2026-11-01 22:00:00"
    _assert_store_usable(lab)


def test_every_format_uses_the_same_range(lab, tmp_path):
    openai = tmp_path / "chat.jsonl"
    openai.write_text(json.dumps({"id": "o-1", "platform": "web", "messages": [
        {"role": "user", "content": "hi", "timestamp": "0000-06-01T00:00:00Z"}]}) + "\n")
    csv = tmp_path / "rows.csv"
    csv.write_text("conversation_id,role,text,timestamp\n"
                   "k-1,customer,hello,10000-01-01T00:00:00Z\n"
                   "k-2,customer,hello,2026-11-01T10:00:00+25:00\n"
                   "k-3,customer,hello,2026-11-01T10:00:00Z\n")
    report = lab.ingest([openai, csv])
    reasons = [r for _, _, r in report.reasons()]
    assert report.loaded == 1 and report.rejected == 3
    assert "timestamp out of range in message 0 at: year 0 (accepted: 1970-01-01 to 2199-12-31 UTC)" in reasons
    assert "timestamp out of range in message 0 at: year 10000 (accepted: 1970-01-01 to 2199-12-31 UTC)" in reasons
    assert any("UTC offset outside -12:00..+14:00" in r for r in reasons)
    _assert_store_usable(lab)


# --- nesting -------------------------------------------------------------------------------


def _nested(depth: int) -> object:
    value: object = 1
    for k in range(depth):
        value = [value] if k % 2 else {"k": value}
    return value


def _raw_nested(depth: int) -> str:
    return "[" * depth + "]" * depth  # json.dumps would recurse


@pytest.mark.parametrize("depth", [65, 200, 10_000, 100_000])
def test_deeply_nested_function_values_are_rejected(lab, tmp_path, depth):
    good = json.dumps(conversation("good", functions=[{"name": "f", "arguments": _nested(64)}]))
    bad_args = json.dumps(conversation("deep-args", functions=[{"name": "f", "arguments": "X"}]))
    bad_output = json.dumps(conversation("deep-output", functions=[{"name": "g", "output": "X"}]))
    bad_extra = json.dumps(conversation("deep-extra", unknown_field="X"))
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([good, *(r.replace('"X"', _raw_nested(depth)) for r in (bad_args, bad_output,
                                                                                          bad_extra))]) + "\n")
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (1, 3)
    assert _reasons(lab) == {
        2: f"function 0 arguments nests {depth:,} levels deep; the limit is 64 (CONVOLAB_MAX_DEPTH)",
        3: f"function 0 output nests {depth:,} levels deep; the limit is 64 (CONVOLAB_MAX_DEPTH)",
        4: f"an unknown top-level field nests {depth:,} levels deep; the limit is 64 (CONVOLAB_MAX_DEPTH)",
    }
    _assert_store_usable(lab)


def test_openai_arguments_nested_inside_their_string_are_measured(lab, write_jsonl):
    record = {"id": "o-deep", "platform": "web", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "f", "arguments": _raw_nested(300)}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"}]}
    report = lab.ingest(write_jsonl([record]), format="openai")
    assert report.rejected == 1
    assert report.reasons()[0][2] == "function 0 arguments nests 300 levels deep; the limit is 64 (CONVOLAB_MAX_DEPTH)"


def test_wide_values_are_not_deep_and_the_depth_limit_is_configurable(lab, write_jsonl):
    wide = conversation("wide", functions=[{"name": "f", "output": [{"a": [i, "[[[[[[["]} for i in range(500)]}])
    assert lab.ingest(write_jsonl([wide])).loaded == 1
    shallow = lab.ingest(write_jsonl([conversation("three", functions=[{"name": "f", "arguments": _nested(3)}])],
                                     name="three.jsonl"), limits={"max_depth": 2})
    assert shallow.rejected == 1 and "nests 3 levels deep; the limit is 2" in shallow.reasons()[0][2]


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth('{"a": "[[[[", "b": ["\\"]", [1]]}') == 3
    assert json_depth('"[[["') == 0 and json_depth("7") == 0 and json_depth("[]") == 1
    assert json_depth(_raw_nested(50_000)) == 50_000


def test_a_store_that_already_holds_a_deep_value_can_be_shown_exported_and_deleted(lab, write_jsonl, tmp_path):
    lab.ingest(write_jsonl([conversation("old")]))
    # a store written before ingest refused deep values: put one there directly
    lab.execute("UPDATE function_calls SET arguments = ?::JSON WHERE conversation_id = 'old'",
                [_raw_nested(10_000)])
    detail = lab.conversation("old")
    assert detail["functions"][0]["arguments"] == _raw_nested(10_000)  # kept as text, not a RecursionError
    assert lab.export("old", "json") and lab.export("old", "csv")
    lab.delete("old")
    assert not lab.has_conversation("old")


# --- ids -----------------------------------------------------------------------------------

BAD_IDS = [("nul\u0000id", "U+0000"), ("tab\tid", "U+0009"), ("new\nline", "U+000A"), ("del\u007f", "U+007F"),
           ("c1\u0085next", "U+0085"), ("sep\u2028x", "U+2028"), ("rlo\u202eevil", "U+202E"),
           ("iso\u2066x", "U+2066")]
GOOD_IDS = ["ünïcödé-ø", "通話-0001", "📞-call-😀", "e\u0301-combining", "with space", "'quoted' \"id\"", "x" * 256]


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "exact-path"])
def test_ids_with_control_characters_or_absurd_lengths_are_rejected(lab, write_jsonl, monkeypatch, fast):
    from convolab.ingest import jsonl

    monkeypatch.setattr(jsonl, "FAST_PATH", fast)
    records = [conversation(i) for i, _ in BAD_IDS] + [conversation("y" * 257)] + [conversation(i) for i in GOOD_IDS]
    report = lab.ingest(write_jsonl(records))
    assert (report.loaded, report.rejected) == (len(GOOD_IDS), len(BAD_IDS) + 1)
    reasons = _reasons(lab)
    for line, (_, code) in enumerate(BAD_IDS, start=1):
        assert reasons[line] == f"id contains a control character ({code})"
    assert reasons[len(BAD_IDS) + 1] == "id is 257 characters long; the limit is 256"
    assert sorted(lab.list_conversations(limit=None)["id"]) == sorted(GOOD_IDS)
    _assert_store_usable(lab)


def test_csv_ids_follow_the_same_rule(lab, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('conversation_id,role,text\n"a\u0001b",customer,hi\n"通話-7",customer,hi\n', encoding="utf-8")
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (1, 1)
    assert report.reasons()[0][2] == "id contains a control character (U+0001)"


# --- the same id in two files of one call -------------------------------------------------


def test_an_id_repeated_by_a_later_file_is_rejected_unless_identical(lab, write_jsonl):
    first = write_jsonl([conversation("a"), conversation("b"), conversation("c", status="bogus")], name="first.jsonl")
    second = write_jsonl([conversation("x"), conversation("a", summary="another text"), conversation("b"),
                          conversation("c")], name="second.jsonl")
    report = lab.ingest([first, second])
    one, two = report.files
    assert (one.loaded, one.rejected) == (2, 1)
    # a differs: rejected, naming where it was loaded from; b is byte-identical: unchanged;
    # c was rejected in the first file, so the second file's c is the one that loads
    assert (two.loaded, two.unchanged, two.rejected) == (2, 1, 1)
    assert two.reasons == [(2, f"duplicate id a: already loaded from {first}:1 in this run")]
    assert lab.conversation("a")["summary"] == "Customer asked about a high bill."  # not silently replaced
    assert lab.list_rejected().filter(pl.col("conversation_id") == "a").height == 1


def test_a_later_call_still_replaces_a_changed_conversation(lab, write_jsonl):
    lab.ingest(write_jsonl([conversation("a")], name="v1.jsonl"))
    report = lab.ingest(write_jsonl([conversation("a", summary="v2")], name="v2.jsonl"))
    assert report.loaded == 1 and lab.conversation("a")["summary"] == "v2"


def test_duplicates_across_three_files_and_formats(lab, write_jsonl, tmp_path):
    csv = tmp_path / "third.csv"
    csv.write_text("conversation_id,role,text\nshared,customer,from the csv\n")
    report = lab.ingest([write_jsonl([conversation("shared")], name="one.jsonl"),
                         write_jsonl([conversation("other")], name="two.jsonl"), csv])
    assert [f.loaded for f in report.files] == [1, 1, 0]
    assert "already loaded from" in report.files[2].reasons[0][1] and "one.jsonl:1" in report.files[2].reasons[0][1]


# --- huge values ---------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "exact-path"])
def test_limits_reject_big_messages_long_conversations_and_big_records(lab, write_jsonl, monkeypatch, fast):
    from convolab.ingest import jsonl

    monkeypatch.setattr(jsonl, "FAST_PATH", fast)
    limits = Limits(max_message_bytes=1000, max_messages=5, max_record_bytes=20_000, max_depth=64)
    records = [
        conversation("ok", messages=[{"role": "customer", "text": "é" * 500}] * 5),  # 1,000 bytes, 5 messages
        conversation("big-text", messages=[{"role": "agent", "text": "hi"}, {"role": "customer", "text": "é" * 501}]),
        conversation("many", messages=[{"role": "customer", "text": "x"}] * 6),
        conversation("big-record", summary="s" * 20_000),
    ]
    report = lab.ingest(write_jsonl(records), limits=limits)
    assert report.loaded == 1
    reasons = _reasons(lab)
    assert reasons[2] == "message 1 is 1,002 bytes; the limit is 1,000 (CONVOLAB_MAX_MESSAGE_BYTES)"
    assert reasons[3] == "conversation has 6 messages; the limit is 5 (CONVOLAB_MAX_MESSAGES)"
    assert reasons[4].startswith("record is 2") and reasons[4].endswith("the limit is 20,000 (CONVOLAB_MAX_RECORD_BYTES)")


def test_limits_come_from_the_environment_and_apply_to_csv(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVOLAB_MAX_MESSAGES", "2")
    monkeypatch.setenv("CONVOLAB_MAX_MESSAGE_BYTES", "10")
    assert Limits.from_settings() == Limits(max_message_bytes=10, max_messages=2)
    path = tmp_path / "rows.csv"
    path.write_text("conversation_id,role,text\nk,customer,a\nk,agent,b\nk,customer,c\nm,customer,"
                    + "z" * 11 + "\nn,customer,fine\n")
    report = lab.ingest(path)
    assert report.loaded == 1
    assert {r for _, _, r in report.reasons()} == {
        "conversation has 3 messages; the limit is 2 (CONVOLAB_MAX_MESSAGES)",
        "message 0 is 11 bytes; the limit is 10 (CONVOLAB_MAX_MESSAGE_BYTES)"}


@pytest.mark.parametrize("bad", [{"max_depth": 0}, {"max_messages": -1}, {"max_message_bytes": "big"},
                                 {"nesting": 3}, "64"])
def test_bad_limits_are_invalid_arguments(lab, write_jsonl, bad):
    with pytest.raises(InvalidArgument):
        lab.ingest(write_jsonl([conversation()]), limits=bad)


def test_a_50_mb_message_is_a_rejection_not_a_hang(lab, tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(conversation("huge", messages=[{"role": "customer", "text": "a" * 50_000_000}]))
                    + "\n" + json.dumps(conversation("small")) + "\n")
    report = lab.ingest(path)
    assert (report.loaded, report.rejected) == (1, 1)
    assert report.reasons()[0][2].startswith("record is 50,000,")  # over the 32 MiB record limit: never parsed
    assert lab.list_rejected()["record"][0].startswith('{"id": "huge"')  # quoted (4,000 characters), not lost


# --- both paths agree on all of this -------------------------------------------------------


def test_fast_and_exact_paths_agree_on_the_new_checks(tmp_path, monkeypatch):
    from convolab.ingest import jsonl

    from .test_ingest import _TABLES, _snapshot

    records = [
        conversation("range", started_at="0000-01-01T00:00:00Z"),
        conversation("offset", messages=[{"role": "customer", "text": "x", "at": "2026-11-01T10:00:00+15:00"}]),
        conversation("tw", started_at="Tue Oct 31 21:45:10 +0000 2017", ended_at="Tue, 31 Oct 2017 21:50:10 GMT"),
        conversation("ms", messages=[{"role": "customer", "text": "x", "at": 1509486310123}]),
        conversation("digits", messages=[{"role": "customer", "text": "x", "at": "1509486310"}]),
        conversation("ctl\u0007"), conversation("z" * 300),
        conversation("deep", functions=[{"name": "f", "arguments": _nested(70)}]),
        conversation("many", messages=[{"role": "agent", "text": "x"}] * 12),
        conversation("naive", started_at="2026-11-01 10:00:00", ended_at="2026-11-01T10:05:00"),
        conversation("plain"),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    limits = {"max_messages": 10}
    with convolab.open(tmp_path / "fast.duckdb") as fast:
        fast_report = fast.ingest(path, limits=limits)
        fast_rows = _snapshot(fast)
    monkeypatch.setattr(jsonl, "FAST_PATH", False)
    with convolab.open(tmp_path / "exact.duckdb") as exact:
        exact_report = exact.ingest(path, limits=limits)
        exact_rows = _snapshot(exact)
    assert fast_report.to_dict() == exact_report.to_dict()
    assert fast_report.loaded == 5
    for name in _TABLES:
        assert fast_rows[name] == exact_rows[name], name
