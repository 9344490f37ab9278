"""Real exports load (issue #11, part 5): time shapes, role maps, guessed columns, exit statuses.

The CSV fixtures are written here, by hand, in the shapes of the public sources
bench/real_data/build.py exports (Twitter threads, ABCD chats with ``action``
turns, MultiWOZ USER/SYSTEM dialogues, MAIA inbound/outbound chats); no fetched
text is used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from convolab.errors import InvalidArgument, InvalidRecord

from .conftest import conversation

CLI = [sys.executable, "-m", "convolab"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _times(lab, cid: str) -> list[datetime | None]:
    return [m["sent_at"] for m in lab.conversation(cid)["transcript"]]


# --- timestamps ----------------------------------------------------------------------------

SHAPES = [  # (value as written, UTC it means)
    ("2017-10-31T21:45:10Z", "2017-10-31 21:45:10"),
    ("2017-10-31T23:45:10+02:00", "2017-10-31 21:45:10"),
    ("2017-10-31 21:45:10", "2017-10-31 21:45:10"),  # no offset: UTC
    (1509486310, "2017-10-31 21:45:10"),  # epoch seconds
    (1509486310.25, "2017-10-31 21:45:10.250000"),
    (1509486310123, "2017-10-31 21:45:10.123000"),  # epoch milliseconds
    ("1509486310", "2017-10-31 21:45:10"),  # digits in a string
    ("1509486310123", "2017-10-31 21:45:10.123000"),
    ("Tue, 31 Oct 2017 21:45:10 +0000", "2017-10-31 21:45:10"),  # RFC 2822
    ("Tue, 31 Oct 2017 16:45:10 -0500", "2017-10-31 21:45:10"),
    ("31 Oct 2017 21:45:10 GMT", "2017-10-31 21:45:10"),
    ("Tue, 31 Oct 2017 21:45 +0000", "2017-10-31 21:45:00"),
    ("Tue Oct 31 21:45:10 +0000 2017", "2017-10-31 21:45:10"),  # Twitter
    ("Wed Nov 01 03:15:10 +0530 2017", "2017-10-31 21:45:10"),
]


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "exact-path"])
def test_jsonl_reads_every_common_time_shape(lab, write_jsonl, monkeypatch, fast):
    from convolab.ingest import jsonl

    monkeypatch.setattr(jsonl, "FAST_PATH", fast)
    messages = [{"role": "customer", "text": f"m{k}", "at": value} for k, (value, _) in enumerate(SHAPES)]
    record = conversation("t", started_at=SHAPES[12][0], ended_at=SHAPES[9][0], messages=messages,
                          functions=[{"name": "f", "at": "Tue, 31 Oct 2017 21:46:10 +0000"}])
    report = lab.ingest(write_jsonl([record]))
    assert (report.loaded, report.rejected) == (1, 0), report.reasons()
    assert [str(t) for t in _times(lab, "t")] == [utc for _, utc in SHAPES]
    d = lab.conversation("t")
    assert str(d["started_at"]) == str(d["ended_at"]) == "2017-10-31 21:45:10"
    assert str(d["functions"][0]["called_at"]) == "2017-10-31 21:46:10"


def test_openai_csv_and_parquet_read_the_same_shapes(lab, tmp_path):
    openai = tmp_path / "chat.jsonl"
    openai.write_text(json.dumps({"id": "o", "platform": "web", "messages": [
        {"role": "user", "content": f"m{k}", "timestamp": value} for k, (value, _) in enumerate(SHAPES)]}) + "\n")
    rows = pl.DataFrame({"chat": ["c"] * len(SHAPES), "speaker": ["customer"] * len(SHAPES),
                         "text": [f"m{k}" for k in range(len(SHAPES))], "created_at": [str(v) for v, _ in SHAPES]})
    rows.write_csv(tmp_path / "rows.csv")
    rows.with_columns(pl.col("chat").replace("c", "p")).write_parquet(tmp_path / "rows.parquet")
    report = lab.ingest([openai, tmp_path / "rows.csv", tmp_path / "rows.parquet"])
    assert (report.loaded, report.rejected) == (3, 0), report.reasons()
    for cid in ("o", "c", "p"):
        by_text = {m["text"]: str(m["sent_at"]) for m in lab.conversation(cid)["transcript"]}
        assert by_text == {f"m{k}": utc for k, (_, utc) in enumerate(SHAPES)}, cid


def test_parquet_native_timestamps_pass_through(lab, tmp_path):
    rows = pl.DataFrame({"conversation_id": ["n", "n"], "role": ["customer", "agent"], "text": ["a", "b"],
                         "timestamp": [datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 1, 10, 0, 7)]})
    rows.write_parquet(tmp_path / "native.parquet")
    assert lab.ingest(tmp_path / "native.parquet").loaded == 1
    assert lab.conversation("n")["duration_s"] == 7.0


def test_time_format_reads_other_shapes_in_every_format(lab, tmp_path, write_jsonl):
    path = write_jsonl([conversation("j", started_at="31/10/2017 21:45", ended_at="2017-10-31T21:50:00Z",
                                     messages=[{"role": "customer", "text": "x", "at": "31/10/2017 21:46"}])])
    csv = tmp_path / "eu.csv"
    csv.write_text("conversation_id,role,text,timestamp\nk,customer,hi,01/11/2017 09:05\nk,agent,yo,1509527400\n")
    report = lab.ingest([path, csv], time_format="%d/%m/%Y %H:%M")
    assert (report.loaded, report.rejected) == (2, 0), report.reasons()
    assert str(lab.conversation("j")["started_at"]) == "2017-10-31 21:45:00"
    assert [str(t) for t in _times(lab, "k")] == ["2017-11-01 09:05:00", "2017-11-01 09:10:00"]


def test_without_the_format_such_times_are_rejected_with_their_line(lab, tmp_path):
    csv = tmp_path / "eu.csv"
    csv.write_text("conversation_id,role,text,timestamp\nk,customer,hi,01/11/2017 09:05\n")
    report = lab.ingest(csv)
    assert report.reasons() == [(str(csv), 2, "line 2: bad timestamp: 01/11/2017 09:05")]


@pytest.mark.parametrize("bad", ["%Q", "", "no directive", 5])
def test_a_bad_time_format_is_an_invalid_argument(lab, write_jsonl, bad):
    with pytest.raises(InvalidArgument):
        lab.ingest(write_jsonl([conversation()]), time_format=bad)


# --- role maps -----------------------------------------------------------------------------


def test_role_map_applies_before_validation_in_every_format(lab, tmp_path, write_jsonl):
    jsonl = write_jsonl([conversation("j", messages=[{"role": "customer", "text": "hi"},
                                                     {"role": "action", "text": "lookup"},
                                                     {"role": "Bot", "text": "done"}])])
    openai = tmp_path / "chat.jsonl"
    openai.write_text(json.dumps({"id": "o", "platform": "web", "messages": [
        {"role": "user", "content": "hi"}, {"role": "bot", "content": "hello"}]}) + "\n")
    csv = tmp_path / "rows.csv"
    csv.write_text("chat,speaker,text\nc,customer,hi\nc,ACTION,pull-up-account\nc,bot,ok\n")
    report = lab.ingest([jsonl, openai, csv], role_map={"action": "system", "BOT ": "agent"})
    assert (report.loaded, report.rejected) == (3, 0), report.reasons()
    roles = {cid: [m["role"] for m in lab.conversation(cid)["transcript"]] for cid in ("j", "o", "c")}
    assert roles == {"j": ["customer", "system", "agent"], "o": ["customer", "agent"],
                     "c": ["customer", "system", "agent"]}


def test_without_a_role_map_an_unknown_role_rejects_the_conversation(lab, tmp_path):
    csv = tmp_path / "rows.csv"
    csv.write_text("chat,speaker,text\nc,customer,hi\nc,action,pull-up-account\n")
    assert lab.ingest(csv).reasons()[0][2] == "line 3: unknown role action"


@pytest.mark.parametrize("bad", [{"action": "robot"}, {"": "agent"}, {"a": 1}, ["action=system"],
                                 {"Bot": "agent", "bot": "system"}])
def test_a_bad_role_map_is_an_invalid_argument(lab, write_jsonl, bad):
    with pytest.raises(InvalidArgument):
        lab.ingest(write_jsonl([conversation()]), role_map=bad)


def test_parse_role_map():
    from convolab.ingest import parse_role_map

    assert parse_role_map(["action=system,bot=agent", "USER=customer"]) == {
        "action": "system", "bot": "agent", "user": "customer"}
    with pytest.raises(InvalidArgument, match="FROM=TO"):
        parse_role_map(["action"])


# --- guessed columns -----------------------------------------------------------------------


@pytest.mark.parametrize("id_column", ["chat", "chat_id", "thread", "thread_id", "session", "session_id", "ticket",
                                       "ticket_id", "call_sid", "conversation", "dialogue_id", "Conversation_ID"])
def test_the_id_column_is_guessed_from_common_names(lab, tmp_path, id_column):
    csv = tmp_path / "rows.csv"
    csv.write_text(f"{id_column},sender,body,sent_at\nx-1,customer,hi,2026-11-01T10:00:00Z\n"
                   "x-1,agent,hello,2026-11-01T10:00:03Z\n")
    report = lab.ingest(csv)
    assert (report.loaded, report.rejected) == (1, 0)
    assert lab.conversation("x-1")["duration_s"] == 3.0


def test_an_unguessable_column_is_one_line_without_none(lab, tmp_path):
    csv = tmp_path / "odd.csv"
    csv.write_text("who,what\ncustomer,hi\n")
    with pytest.raises(InvalidRecord) as caught:
        lab.ingest(csv)
    message = str(caught.value)
    assert message.startswith(f"{csv}: cannot tell which column holds conversation_id, role, text;")
    assert ":None" not in message and "--map conversation_id=COLUMN" in message


# --- conversations without times -----------------------------------------------------------


def test_a_conversation_without_timestamps_loads_with_null_times_everywhere(lab, tmp_path, write_jsonl):
    csv = tmp_path / "rows.csv"
    csv.write_text("chat,turn,speaker,text\nnt,0,customer,hello\nnt,1,agent,hi there\n")
    jsonl = write_jsonl([{"id": "nj", "platform": "web", "messages": [{"role": "customer", "text": "hi"}]}])
    assert lab.ingest([csv, jsonl]).loaded == 2
    for cid in ("nt", "nj"):
        d = lab.conversation(cid)
        assert (d["started_at"], d["ended_at"], d["duration_s"]) == (None, None, None)
        assert all(m["sent_at"] is None for m in d["transcript"])
        assert b"Start:   End: " in lab.export(cid, "txt")
    page = lab.list_conversations(limit=None)
    assert page.filter(pl.col("id").is_in(["nt", "nj"]))["date"].to_list() == [None, None]
    assert [m["text"] for m in lab.conversation("nt")["transcript"]] == ["hello", "hi there"]  # file order


# --- the CLI: flags and exit statuses ------------------------------------------------------


def _write_real_shapes(root: Path) -> None:
    """Small exports in the shapes of the four public sources (text written for this test)."""
    (root / "twitter.csv").write_text(
        "thread,tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "tw-1,11,900001,True,Tue Oct 31 21:45:10 +0000 2017,@acme my router is dead again,12,\n"
        "tw-1,12,AcmeHelp,False,Tue Oct 31 21:47:40 +0000 2017,@900001 Sorry! Please DM us your account,,11\n"
        "tw-2,21,900002,True,Wed Nov 01 08:00:00 +0000 2017,@acme thanks for the quick fix,,\n")
    (root / "chats.csv").write_text(
        "chat,turn,speaker,text\n"
        "ch-1,0,agent,Hello! How can I help?\n"
        "ch-1,1,customer,I want to return a jacket\n"
        "ch-1,2,action,Account has been pulled up for Jo Doe.\n"
        "ch-1,3,agent,Done - you will get a label by email.\n")
    (root / "booking.csv").write_text(
        "dialogue_id,turn,speaker,utterance\n"
        "BK001,0,USER,I need a cheap hotel in the north .\n"
        "BK001,1,SYSTEM,There are two . Shall I book one ?\n"
        "BK001,2,USER,\"No , that 's all . Thanks !\"\n")
    (root / "support.csv").write_text(
        "id,turn,floor,text_en,text_original,emotions\n"
        "sp-1,0,inbound,The reader shows a black line.,Das Lesegerät zeigt eine schwarze Linie.,neutral\n"
        "sp-1,1,outbound,Please try a reset.,Bitte versuchen Sie einen Reset.,neutral\n")


def test_the_real_export_shapes_load_with_the_documented_flags(tmp_path):
    _write_real_shapes(tmp_path)
    db = ["--db", "real.duckdb"]
    loads = [
        ["twitter.csv", "--map", "role=inbound", "--role-map", "true=customer,false=agent"],
        ["chats.csv", "--role-map", "action=system"],
        ["booking.csv", "--role-map", "system=agent"],
        ["support.csv", "--map", "conversation_id=id", "--role-map", "inbound=customer,outbound=agent"],
    ]
    for args in loads:
        out = run("ingest", *args, *db, "--strict", cwd=tmp_path)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        assert "rejected 0" in out.stdout
    doc = json.loads(run("show", "tw-1", *db, "--json", cwd=tmp_path).stdout)
    assert [m["role"] for m in doc["transcript"]] == ["customer", "agent"]
    assert doc["started_at"].startswith("2017-10-31 21:45:10") and doc["duration_s"] == 150.0
    chat = json.loads(run("show", "ch-1", *db, "--json", cwd=tmp_path).stdout)
    assert [m["role"] for m in chat["transcript"]] == ["agent", "customer", "system", "agent"]
    assert chat["started_at"] is None and chat["duration_s"] is None
    booking = json.loads(run("show", "BK001", *db, "--json", cwd=tmp_path).stdout)
    assert [m["role"] for m in booking["transcript"]] == ["customer", "agent", "customer"]
    support = json.loads(run("show", "sp-1", *db, "--json", cwd=tmp_path).stdout)
    assert support["transcript"][0]["text"] == "The reader shows a black line."


def test_exit_statuses(tmp_path):
    _write_real_shapes(tmp_path)
    db = ["--db", "s.duckdb"]
    everything_rejected = run("ingest", "chats.csv", *db, cwd=tmp_path)  # action is not a role
    assert everything_rejected.returncode == 3
    assert "rejected chats.csv:2: line 4: unknown role action" in everything_rejected.stdout
    assert everything_rejected.stderr.strip() == "error: nothing was loaded: all 1 records were rejected"
    (tmp_path / "empty.jsonl").write_text("\n\n")
    empty = run("ingest", "empty.jsonl", *db, cwd=tmp_path)
    assert (empty.returncode, empty.stderr.strip()) == (3, "error: nothing was loaded: the files hold no records")
    (tmp_path / "mixed.jsonl").write_text(json.dumps(conversation("good")) + "\nnot json\n")
    partial = run("ingest", "mixed.jsonl", *db, cwd=tmp_path)
    assert partial.returncode == 0 and "loaded 1, unchanged 0, rejected 1" in partial.stdout
    (tmp_path / "mixed2.jsonl").write_text(json.dumps(conversation("good2")) + "\nnot json\n")
    strict = run("ingest", "mixed2.jsonl", *db, "--strict", "--json", cwd=tmp_path)
    assert strict.returncode == 4
    assert json.loads(strict.stdout)["loaded"] == 1  # the good record is loaded, and said so
    assert strict.stderr.strip().startswith("error: --strict: 1 of 2 records were rejected")
    again = run("ingest", "mixed.jsonl", *db, cwd=tmp_path)  # unchanged is not "nothing loaded"
    assert again.returncode == 0 and "unchanged 1" in again.stdout
    for args in (["--role-map", "action=robot"], ["--role-map", "action"], ["--time-format", "%Q"]):
        bad = run("ingest", "chats.csv", *db, *args, cwd=tmp_path)
        assert bad.returncode == 1 and bad.stderr.startswith("error:") and len(bad.stderr.splitlines()) == 1
        assert "Traceback" not in bad.stderr
    odd = tmp_path / "odd.csv"
    odd.write_text("who,what\ncustomer,hi\n")
    unguessable = run("ingest", "odd.csv", *db, cwd=tmp_path)
    assert unguessable.returncode == 1
    assert unguessable.stderr.startswith("error: odd.csv: cannot tell which column") and ":None" not in unguessable.stderr
