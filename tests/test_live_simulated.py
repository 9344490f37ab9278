"""The simulated call center: calls play in real time, actions change what happens, finished calls are saved."""

from __future__ import annotations

import pytest

import convolab
import convolab.live
from convolab.live.base import wait_until
from tests.fakes import keyword_scorer


@pytest.fixture
def center(lab):
    c = convolab.live.connect("simulated", lab=lab, calls=4, speed=40, scorer=keyword_scorer,
                              post_call_scoring=False, actor="sup-1")
    yield c
    c.close()


def test_calls_table_has_the_monitor_columns(center):
    calls = center.calls()
    assert calls.columns == ["id", "contact", "platform", "status", "handler", "listening", "duration_s",
                             "flow_state", "functions", "top_emotions", "risk"]
    assert calls.height == 4 and set(calls["status"]) == {"in_progress"} and set(calls["handler"]) == {"ai"}


def test_messages_arrive_over_time_and_customer_ones_are_scored(center):
    cid = center.calls()["id"][0]
    assert wait_until(lambda: len(center.messages(cid)) >= 3, timeout=5)
    customer = [m for m in center.messages(cid) if m.role == "customer"]
    assert wait_until(lambda: all(m.polarity is not None for m in customer), timeout=2)


def test_transcript_streams_until_the_call_ends(center):
    cid = center.calls()["id"][1]
    streamed = list(center.transcript(cid, timeout=10))
    assert center.call(cid).status != "in_progress"
    assert [m.text for m in streamed] == [m.text for m in center.messages(cid)]


def test_take_over_silences_the_ai(center):
    cid = center.calls()["id"][0]
    center.take_over(cid)
    n = len(center.messages(cid))
    center.say(cid, "Hi, this is Ana, a supervisor. I'll sort this out.")
    wait_until(lambda: center.call(cid).status != "in_progress", timeout=5)
    later = center.messages(cid)[n:]
    assert any(m.role == "supervisor" for m in later)
    assert not any(m.role == "agent" for m in later)


def test_coaching_never_reaches_the_caller_transcript(center, lab):
    cid = center.calls()["id"][2]
    center.add_coaching(cid, "SECRET-NOTE offer a credit")
    assert center.call(cid).coaching[0]["text"] == "SECRET-NOTE offer a credit"
    assert not any("SECRET-NOTE" in m.text for m in center.messages(cid))
    center.end(cid)
    assert lab.sql("SELECT text FROM coaching_notes WHERE call_id = ?", [cid])["text"][0].startswith("SECRET")
    assert lab.sql("SELECT count(*) AS n FROM messages WHERE contains(text, 'SECRET-NOTE')")["n"][0] == 0


@pytest.mark.parametrize(("action", "args", "status"), [
    ("end", (), "completed"), ("transfer", ("+15555550100",), "transferred"), ("enqueue", ("billing",), "queued"),
])
def test_ending_a_call_saves_it_to_the_store(center, lab, action, args, status):
    cid = center.calls()["id"][3]
    wait_until(lambda: len(center.messages(cid)) >= 2, timeout=5)
    getattr(center, action)(cid, *args)
    assert center.call(cid).status == status
    assert center.allowed_actions(cid) == []
    saved = lab.sql("SELECT status FROM conversations WHERE id = ?", [cid])
    assert saved["status"].to_list() == [status]
    assert lab.sql("SELECT count(*) AS n FROM messages WHERE conversation_id = ?", [cid])["n"][0] >= 2
    assert lab.sql("SELECT status FROM live_calls WHERE id = ?", [cid])["status"][0] == status


def test_calls_that_finish_on_their_own_are_saved(center, lab):
    assert wait_until(lambda: (center.calls()["status"] != "in_progress").all(), timeout=15)
    assert wait_until(lambda: lab.sql("SELECT count(*) AS n FROM conversations")["n"][0] == 4, timeout=5)


def test_replenish_keeps_the_center_busy(lab):
    c = convolab.live.connect("simulated", lab=None, calls=2, speed=200, scorer=keyword_scorer, replenish=True)
    try:
        assert wait_until(lambda: c.calls().height >= 4, timeout=10)
    finally:
        c.close()


def test_real_model_scores_live_messages_and_post_call_processing(lab):
    """The shipped emotion model scores arriving messages; a finished call is scored in the store."""
    c = convolab.live.connect("simulated", lab=lab, calls=1, speed=60)
    try:
        cid = c.calls()["id"][0]
        assert wait_until(lambda: c.call(cid).status != "in_progress", timeout=60)
        customer = [m for m in c.messages(cid) if m.role == "customer"]
        assert customer and all(m.polarity in {"positive", "negative", "ambiguous", "neutral"} for m in customer)
        assert wait_until(lambda: lab.sql("SELECT count(*) AS n FROM conversations")["n"][0] == 1, timeout=60)
    finally:
        c.close()
    tables = set(lab.sql("SELECT table_name FROM information_schema.tables")["table_name"])
    if "conversation_emotions" in tables:
        assert wait_until(lambda: lab.sql("SELECT count(*) AS n FROM conversation_emotions WHERE conversation_id = ?",
                                          [cid])["n"][0] >= 1, timeout=60)
