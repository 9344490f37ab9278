"""Time-based criteria: channel-aware reply times, and no invented waits when times are missing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from convolab.flags import load_criteria, run_flags
from convolab.flags.criteria import compile_criteria
from convolab.flags.features import FEATURES_TABLE

T0 = datetime(2026, 11, 2, 8, 0, 0)
TIME_CRITERIA = ("slow_agent_response", "abandoned_after_wait", "duration_anomaly")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def thread(cid: str, flow: str, platform: str, replies: list[float], *, status: str = "completed",
           unanswered: float | None = None) -> dict:
    """Customer/agent exchanges whose agent replies take the given seconds."""
    t, messages = T0, []
    for k, reply in enumerate(replies):
        messages.append({"role": "customer", "text": f"Question number {k}?", "at": _iso(t)})
        t += timedelta(seconds=reply)
        messages.append({"role": "agent", "text": f"Answer number {k}.", "at": _iso(t)})
        t += timedelta(seconds=5)
    if unanswered is not None:
        messages.append({"role": "customer", "text": "Hello, are you still there?", "at": _iso(t)})
        t += timedelta(seconds=unanswered)
    return {"id": cid, "flow": flow, "platform": platform, "status": status, "started_at": _iso(T0),
            "ended_at": _iso(t), "messages": messages}


def _built_ins(*names: str) -> list:
    return [c for c in load_criteria() if c.name in names]


def _features(lab, *names: str) -> dict[str, dict]:
    compile_criteria(lab, _built_ins(*TIME_CRITERIA))
    cols = ", ".join(names)
    return {r["conversation_id"]: r for r in lab.sql(
        f"SELECT conversation_id, {cols} FROM {FEATURES_TABLE}").to_dicts()}  # noqa: S608 - test constants


def test_slow_replies_are_judged_against_their_own_channel(lab, write_jsonl):
    rng = random.Random(4)
    # A phone line answers in seconds; a social-media flow in minutes to hours.
    phone = [thread(f"phone-{i}", "Phone line", "phone", [rng.uniform(2, 8) for _ in range(3)]) for i in range(30)]
    phone.append(thread("phone-slow", "Phone line", "phone", [4, 45, 5]))
    social = [thread(f"social-{i}", "Social care", "web", [rng.uniform(300, 5400) for _ in range(3)])
              for i in range(30)]
    social.append(thread("social-slow", "Social care", "web", [600, 3 * 86400, 900]))
    lab.ingest(write_jsonl([*phone, *social]))
    counts = run_flags(lab, _built_ins("slow_agent_response"))
    flagged = set(lab.list_flags(criterion="slow_agent_response")["conversation_id"].to_list())
    # An absolute 15 s would flag every social thread; relative to the flow, only the outliers.
    assert flagged == {"phone-slow", "social-slow"}, flagged
    assert counts == {"slow_agent_response": 2}
    features = _features(lab, "slowest_reply_log_z", "typical_reply_s")
    assert features["social-3"]["typical_reply_s"] > 100 * features["phone-3"]["typical_reply_s"]


def test_a_small_flow_falls_back_to_its_platform_then_to_the_absolute_floor(lab, write_jsonl):
    rng = random.Random(5)
    many = [thread(f"web-{i}", f"Chat {i % 10}", "web", [rng.uniform(2, 8) for _ in range(3)]) for i in range(25)]
    lab.ingest(write_jsonl([*many, thread("tiny-slow", "Tiny flow", "web", [3, 60]),
                            thread("lonely", "Lonely flow", "phone", [3, 16])]))
    features = _features(lab, "slowest_reply_log_z")
    assert features["tiny-slow"]["slowest_reply_log_z"] > 2.5  # against the 25 web conversations
    assert features["lonely"]["slowest_reply_log_z"] is None  # no phone peers: no distribution
    run_flags(lab, _built_ins("slow_agent_response"))
    assert set(lab.list_flags(criterion="slow_agent_response")["conversation_id"].to_list()) == {"tiny-slow", "lonely"}


def test_missing_timestamps_make_time_features_unknown_and_time_criteria_silent(lab, write_jsonl):
    no_times = {"id": "no-times", "flow": "Phone line", "platform": "phone", "status": "abandoned",
                "messages": [{"role": "customer", "text": "Is anyone there?"},
                             {"role": "agent", "text": "Yes, one moment."},
                             {"role": "customer", "text": "Hello?"}]}
    lab.ingest(write_jsonl([no_times, *(thread(f"t-{i}", "Phone line", "phone", [3, 4]) for i in range(25))]))
    features = _features(lab, "slowest_reply_s", "max_reply_gap_s", "unanswered_wait_s", "duration_s",
                         "duration_log_z", "slowest_reply_log_z")
    row = features["no-times"]
    assert all(row[k] is None for k in row if k != "conversation_id"), row  # unknown, never 0
    counts = run_flags(lab, _built_ins(*TIME_CRITERIA))
    assert not set(lab.list_flags()["conversation_id"].to_list()) & {"no-times"}
    assert counts["abandoned_after_wait"] == 0


def test_a_reply_without_a_time_is_not_replaced_by_a_later_one(lab, write_jsonl):
    # The agent's reply has no time; the next timed agent message is an hour later.
    record = {"id": "gap", "flow": "Phone line", "platform": "phone", "status": "completed",
              "started_at": _iso(T0), "ended_at": _iso(T0 + timedelta(hours=1, seconds=10)),
              "messages": [
                  {"role": "customer", "text": "Can I change my address?", "at": _iso(T0)},
                  {"role": "agent", "text": "Sure, what is the new one?"},
                  {"role": "customer", "text": "12 Elm Road.", "at": _iso(T0 + timedelta(seconds=20))},
                  {"role": "agent", "text": "Done.", "at": _iso(T0 + timedelta(seconds=26))},
                  {"role": "agent", "text": "Anything else?", "at": _iso(T0 + timedelta(hours=1))},
              ]}
    lab.ingest(write_jsonl([record]))
    row = _features(lab, "slowest_reply_s", "slowest_reply_seq", "max_reply_gap_s")["gap"]
    # The first wait is unknown (its reply has no time), not 3,606 s to "Anything else?".
    assert row["slowest_reply_s"] == 6.0 and row["slowest_reply_seq"] == 2 and row["max_reply_gap_s"] == 6.0
