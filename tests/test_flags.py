"""Review-flag criteria on small real DuckDB stores built from canonical JSONL."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import convolab.flags.criteria as criteria_module
from convolab.errors import CriteriaError
from convolab.flags import (
    Criterion,
    add_manual_flag,
    confirm_flag,
    criteria_version,
    dismiss_flag,
    load_criteria,
    run_flags,
)
from convolab.flags.features import FEATURES, ensure_features, invalidate_features

T0 = datetime(2026, 11, 1, 10, 0, 0)
CLEAN_MESSAGES = [
    ("agent", "Hello, how can I help?", 1),
    ("customer", "I have a question about my bill.", 3),
    ("agent", "Let me check that for you.", 5),
    ("customer", "Thanks.", 8),
    ("agent", "Anything else?", 10),
]
BUILT_INS = [
    "frustrated_customer", "sentiment_worsened", "function_failed", "agent_loop", "asked_for_human",
    "abandoned_after_wait", "technical_failure", "agent_repeated_reply", "legal_or_complaint",
    "churn_intent", "duration_anomaly", "slow_agent_response",
]
#: Built-ins measured on call recordings (tests/audio/test_store_run.py plants and checks them);
#: with no analysed recording they never fire.
AUDIO_BUILT_INS = ["dead_air", "agent_interrupts_customer", "slow_agent_latency"]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def conv(cid: str, *, duration: float = 150, status: str = "completed",
         messages: list[tuple[str, str, float]] | None = None,
         functions: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A conversation in flow 'Billing' with messages at second offsets from T0."""
    msgs = CLEAN_MESSAGES if messages is None else messages
    fns = [("lookup_account", "ok")] if functions is None else functions
    return {
        "id": cid, "flow": "Billing", "platform": "web", "contact": "a@example.com", "status": status,
        "started_at": _iso(T0), "ended_at": _iso(T0 + timedelta(seconds=duration)),
        "messages": [{"role": r, "text": t, "at": _iso(T0 + timedelta(seconds=s))} for r, t, s in msgs],
        "functions": [{"name": n, "arguments": {}, "output": {}, "status": st,
                       "at": _iso(T0 + timedelta(seconds=4 + i))} for i, (n, st) in enumerate(fns)],
    }


PLANTED: dict[str, dict[str, Any]] = {
    "function_failed": conv("p-function_failed", functions=[("lookup_account", "ok"), ("pay", "error")]),
    "agent_loop": conv("p-agent_loop", functions=[("lookup_account", "ok")] * 3),
    "asked_for_human": conv("p-asked_for_human", status="transferred", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "Can I speak to a real person please?", 8), ("agent", "Sure.", 10)]),
    "abandoned_after_wait": conv("p-abandoned_after_wait", status="abandoned", duration=60, messages=[
        *CLEAN_MESSAGES[:3], ("customer", "Hello? Are you there?", 8)]),
    "technical_failure": conv("p-technical_failure", status="failed", messages=[
        *CLEAN_MESSAGES, ("system", "Call dropped: media server error.", 11)]),
    "agent_repeated_reply": conv("p-agent_repeated_reply", messages=[
        *CLEAN_MESSAGES[:2], ("agent", "Could you repeat your account number?", 5),
        ("customer", "It's 42.", 7), ("agent", "Could you repeat your account number?", 9)]),
    "legal_or_complaint": conv("p-legal_or_complaint", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "I will call my lawyer about this.", 8), ("agent", "Noted.", 10)]),
    "churn_intent": conv("p-churn_intent", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "Please close my account, I'm moving to a different company.", 8),
        ("agent", "Noted.", 10)]),
    "duration_anomaly": conv("p-duration_anomaly", duration=2000),
    "slow_agent_response": conv("p-slow_agent_response", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "What is the late fee?", 8), ("agent", "It is 5 dollars.", 35)]),
    # An outburst is a peak; the customer calms down, so sentiment did not end worse.
    "frustrated_customer": conv("p-frustrated_customer", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "This is outrageous, I am furious!", 8), ("agent", "I'm sorry.", 10),
        ("customer", "Thanks.", 12), ("agent", "Anything else?", 14)]),
    "sentiment_worsened": conv("p-sentiment_worsened", messages=[
        ("agent", "Hello, how can I help?", 1), ("customer", "Hi, thanks so much for picking up!", 3),
        ("agent", "I'm afraid that can't be refunded.", 5), ("customer", "Oh no, that's terrible news.", 8),
        ("agent", "Anything else?", 10)]),
}


def _score_emotions(lab) -> None:
    """Write emotion scores as the emotions module would (latest run's model only)."""
    con = lab
    con.execute("INSERT INTO emotion_runs VALUES ('m1', now(), now(), 1, 0)")
    con.execute("INSERT INTO message_emotions BY NAME SELECT 'm1' AS model_id, md5(text) AS text_hash, context_hash, "
                "CASE WHEN text LIKE '%furious%' THEN 0.9 ELSE 0.05 END AS anger, "
                "0.05 AS annoyance, 0.05 AS disappointment, "
                "CASE WHEN text LIKE '%terrible%' THEN 0.6 ELSE 0.02 END AS sadness, "
                "CASE WHEN text LIKE '%furious%' OR text LIKE '%terrible%' THEN 'negative'"
                " ELSE 'neutral' END AS polarity, "
                "CASE WHEN text LIKE '%furious%' OR text LIKE '%terrible%' THEN -0.9"
                " WHEN lower(text) LIKE '%thank%' THEN 0.8 ELSE 0.1 END AS sentiment"
                " FROM (SELECT DISTINCT text, context_hash FROM message_contexts)")
    con.execute("INSERT INTO conversation_emotions (conversation_id, model_id, sentiment_start, sentiment_end)"
                " SELECT id, 'm1', 0.6, CASE WHEN id = 'p-sentiment_worsened' THEN -0.5 ELSE 0.7 END"
                " FROM conversations")


@pytest.fixture
def flag_lab(lab, write_jsonl):
    clean = [conv(f"clean-{i:02d}", duration=100 + 10 * i) for i in range(12)]
    planted = [dict(r) for r in PLANTED.values()]
    # Spread durations so the flow's MAD is not zero; only the planted outlier is far out.
    for k, r in enumerate(p for p in planted if p["id"] != "p-duration_anomaly"):
        r["ended_at"] = _iso(T0 + timedelta(seconds=105 + 10 * k))
    lab.ingest(write_jsonl([*clean, *planted]))
    _score_emotions(lab)
    return lab


def _flagged(lab) -> set[tuple[str, str]]:
    return {tuple(r) for r in lab.execute("SELECT conversation_id, criterion FROM flags").fetchall()}


def test_default_library_has_the_built_ins():
    names = [c.name for c in load_criteria()]
    assert names == BUILT_INS + AUDIO_BUILT_INS


def test_each_built_in_fires_on_its_planted_case_and_not_on_clean_ones(flag_lab):
    counts = run_flags(flag_lab)
    flagged = _flagged(flag_lab)
    for name in BUILT_INS:
        assert (f"p-{name}", name) in flagged, name
    assert not [f for f in flagged if f[0].startswith("clean-")]
    # No criterion fires elsewhere than on its own planted case.
    assert {(cid, c) for cid, c in flagged if cid != f"p-{c}"} == set()
    assert counts == {**dict.fromkeys(BUILT_INS, 1), **dict.fromkeys(AUDIO_BUILT_INS, 0)}


def test_reasons_carry_evidence(flag_lab):
    run_flags(flag_lab)
    rows = {r["criterion"]: r for r in flag_lab.list_flags().to_dicts()}
    assert re.search(r"duration 2000.0 s is [\d.]+x the median [\d.]+ s for flow Billing, [\d.]+ robust SDs",
                     rows["duration_anomaly"]["reason"])
    assert 'in message 3: "I will call my lawyer about this." (nearest example "' in rows["legal_or_complaint"]["reason"]
    assert json.loads(rows["slow_agent_response"]["evidence"])["slowest_reply_s"] == 27.0
    abandoned = json.loads(rows["abandoned_after_wait"]["evidence"])
    assert abandoned["unanswered_seq"] == 3 and abandoned["unanswered_wait_s"] > 20
    assert "went from 0.8 at the start to -0.9 at the end, last message -0.9" in rows["sentiment_worsened"]["reason"]
    meaning = json.loads(rows["asked_for_human"]["evidence"])["meaning"]
    assert meaning["seq"] == 3 and meaning["excerpt"] == "Can I speak to a real person please?"
    assert meaning["exemplar"] in next(c for c in load_criteria() if c.name == "asked_for_human").params[
        "exemplars"]["like"]
    assert 'in message 3: "Please close my account' in rows["churn_intent"]["reason"]
    assert "nearest example" in rows["churn_intent"]["reason"]
    assert json.loads(rows["frustrated_customer"]["evidence"])["max_negative_emotion"] == 0.9
    assert all(r["criteria_version"] == criteria_version(load_criteria()) for r in rows.values())


def test_emotion_criteria_do_not_fire_without_scores(lab, write_jsonl):
    lab.ingest(write_jsonl([PLANTED["frustrated_customer"], PLANTED["sentiment_worsened"]]))
    counts = run_flags(lab)
    assert counts["sentiment_worsened"] == 0
    # frustrated_customer reads the customer's words too (deliberate since issue #11):
    # without scores only that part can fire, and its evidence says so.
    (evidence,) = lab.list_flags(criterion="frustrated_customer")["evidence"].to_list()
    evidence = json.loads(evidence)
    assert evidence["max_negative_emotion"] is None and "furious" in evidence["meaning"]["excerpt"]
    wording_off = next(c for c in load_criteria() if c.name == "frustrated_customer").with_params(similarity=1.5)
    assert run_flags(lab, [wording_off]) == {"frustrated_customer": 0}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "criteria.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "bad", "message"), [
    ("  - {name: ok, condition: 'turns > 1'}\n  - {name: broken, condition: 'secret_column > 1'}\n",
     "broken", "unknown feature 'secret_column'"),
    ("  - {name: typed, condition: 'turns > :n', params: {n: high}}\n", "typed", "must be a number"),
    ("  - {name: syntax, condition: 'turns > > 1'}\n", "syntax", "does not compile"),
    ("  - {name: noparam, condition: 'turns > :n'}\n", "noparam", "not defined"),
    ("  - {name: sev, condition: 'turns > 1', severity: urgent}\n", "sev", "severity"),
    ("  - {name: semi, condition: 'turns > 1; DROP TABLE flags'}\n", "semi", "cannot parse"),
    ("  - {name: plist, condition: 'turns > 1', params: [1, 2]}\n", "plist", "must be a mapping"),
    ("  - {name: rx, condition: 'customer_matches(:p)', params: {p: '(unclosed'}}\n", "rx", "bad regular"),
])
def test_bad_criteria_file_is_rejected_and_flags_untouched(flag_lab, tmp_path, body, bad, message):
    run_flags(flag_lab)
    before = _flagged(flag_lab)
    with pytest.raises(CriteriaError) as info:
        run_flags(flag_lab, load_criteria(_write(tmp_path, "criteria:\n" + body)))
    assert info.value.criterion == bad
    assert message in str(info.value)
    assert _flagged(flag_lab) == before


def test_keyword_param_injection_is_inert(flag_lab):
    evil = "x') OR 1=1; DROP TABLE flags; --"
    criteria = [Criterion("evil", "customer_matches(:words)", params={"words": [evil, "lawyer"]})]
    counts = run_flags(flag_lab, criteria)
    assert counts == {"evil": 1}  # only the real keyword matched
    assert flag_lab.execute("SELECT count(*) FROM flags").fetchone()[0] == 1
    # A string literal in a condition is bound as well.
    counts = run_flags(flag_lab, [Criterion("lit", "status = 'x'' OR ''1''=''1'")])
    assert counts == {"lit": 0}


def test_per_flow_override(flag_lab):
    c = Criterion("long", "duration_s >= :s", params={"s": 10_000}, flow_params={"Billing": {"s": 1000}})
    assert run_flags(flag_lab, [c]) == {"long": 1}


def test_rerun_replaces_criteria_flags_and_keeps_manual_and_decisions(flag_lab):
    run_flags(flag_lab)
    fid = flag_lab.execute(
        "SELECT flag_id FROM flags WHERE criterion = 'agent_loop'").fetchone()[0]
    dismiss_flag(flag_lab, fid, reviewer="qa1", note="expected retries")
    manual = add_manual_flag(flag_lab, "clean-00", "rude_agent", reviewer="qa2", reason="tone")
    run_flags(flag_lab)
    run_flags(flag_lab)
    assert flag_lab.execute("SELECT count(*) FROM flags WHERE source = 'criteria'").fetchone()[0] == 12
    flags = flag_lab.list_flags().to_dicts()
    assert [f["flag_id"] for f in flags if f["source"] == "manual"] == [manual]
    loop = next(f for f in flags if f["criterion"] == "agent_loop")
    assert loop["flag_id"] != fid and loop["decision"] == "dismissed" and loop["reviewer"] == "qa1"


def test_decisions_are_audited(flag_lab):
    run_flags(flag_lab)
    fid = flag_lab.execute("SELECT flag_id FROM flags WHERE criterion = 'function_failed'").fetchone()[0]
    confirm_flag(flag_lab, fid, reviewer="qa1")
    audit = flag_lab.list_audit(target="p-function_failed").to_dicts()
    assert audit[0]["action"] == "confirm_flag" and audit[0]["actor"] == "qa1"
    assert json.loads(audit[0]["details"])["flag_id"] == fid
    assert flag_lab.list_flags(criterion="function_failed")["decision"].to_list() == ["confirmed"]


def test_cli_flag_and_flags(flag_lab, tmp_path):
    from typer.testing import CliRunner

    from convolab.cli import app

    db = str(flag_lab.path)
    flag_lab.close()
    runner = CliRunner()
    result = runner.invoke(app, ["flag", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["agent_loop"] == 1
    result = runner.invoke(app, ["flags", "--db", db, "--criterion", "agent_loop", "--json"])
    assert [r["conversation_id"] for r in json.loads(result.stdout)] == ["p-agent_loop"]
    bad = _write(tmp_path, "criteria:\n  - {name: bad, condition: 'nope > 1'}\n")
    result = runner.invoke(app, ["flag", "--db", db, "--criteria", str(bad)])
    assert result.exit_code == 1
    assert "criterion 'bad': unknown feature 'nope'" in result.output
    result = runner.invoke(app, ["flags", "--db", db, "--json"])
    assert len(json.loads(result.stdout)) == 12


def _feature_columns(lab) -> set[str]:
    return {r[0] for r in lab.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = '_flag_features'").fetchall()}


def test_one_criterion_builds_only_the_features_it_needs(flag_lab):
    slow = next(c for c in load_criteria() if c.name == "slow_agent_response")
    assert run_flags(flag_lab, [slow]) == {"slow_agent_response": 1}
    columns = _feature_columns(flag_lab)
    assert {"slowest_reply_s", "slowest_reply_seq", "unanswered_wait_s", "status"} <= columns
    assert not columns & {"customer_text", "max_negative_emotion", "duration_log_z", "failed_calls"}
    # Another criterion adds its group and keeps the first.
    failed = next(c for c in load_criteria() if c.name == "function_failed")
    assert run_flags(flag_lab, [failed]) == {"function_failed": 1}
    assert {"slowest_reply_s", "failed_calls"} <= _feature_columns(flag_lab)


def test_rerun_after_a_threshold_change_reuses_features_and_replaces_only_that_criterion(flag_lab):
    run_flags(flag_lab)
    before = _flagged(flag_lab)
    slow = next(c for c in load_criteria() if c.name == "slow_agent_response")
    built: list[list[str]] = []
    real = criteria_module.ensure_features

    def spy(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    criteria_module.ensure_features = spy
    try:
        run_flags(flag_lab)
        assert run_flags(flag_lab, [slow.with_params(gap_s=100)]) == {"slow_agent_response": 0}
        assert run_flags(flag_lab, [slow.with_params(gap_s=20)]) == {"slow_agent_response": 1}
    finally:
        criteria_module.ensure_features = real
    assert built == [[], [], []]  # features were computed once, by the first run
    assert _flagged(flag_lab) == before
    # The only groups no built-in reads (keyword matching gave way to meaning in issue #11).
    assert ensure_features(flag_lab, FEATURES) == ["messages", "text"]


def test_cached_features_follow_loads_deletes_and_scoring_runs(flag_lab, write_jsonl):
    legal = next(c for c in load_criteria() if c.name == "legal_or_complaint")
    # Emotions only (its wording part off), to see the emotion features follow a new scoring run.
    frustrated = next(c for c in load_criteria() if c.name == "frustrated_customer").with_params(similarity=1.5)
    assert run_flags(flag_lab, [legal, frustrated]) == {"legal_or_complaint": 1, "frustrated_customer": 1}
    flag_lab.ingest(write_jsonl([conv("late-legal", messages=[
        *CLEAN_MESSAGES[:3], ("customer", "I want to file a formal complaint.", 8)])], name="late.jsonl"))
    assert run_flags(flag_lab, [legal]) == {"legal_or_complaint": 2}
    flag_lab.delete("p-legal_or_complaint")
    assert run_flags(flag_lab, [legal]) == {"legal_or_complaint": 1}
    assert flag_lab.execute("SELECT count(*) FROM _flag_features").fetchone()[0] == 24
    # A new scoring run (another model) refreshes only the emotion features.
    con = flag_lab
    con.execute("INSERT INTO emotion_runs VALUES ('m2', now() + INTERVAL 1 SECOND, now() + INTERVAL 1 SECOND, 1, 0)")
    con.execute("INSERT INTO message_emotions BY NAME SELECT 'm2' AS model_id, md5(text) AS text_hash, context_hash,"
                " 0.01 AS anger, 0.01 AS annoyance, 0.01 AS disappointment, 0.0 AS sentiment"
                " FROM (SELECT DISTINCT text, context_hash FROM message_contexts)")
    assert ensure_features(con, ["max_negative_emotion", "second_negative_emotion"]) == ["emotions"]
    assert run_flags(con, [frustrated]) == {"frustrated_customer": 0}
    invalidate_features(con)
    assert ensure_features(con, ["turns"]) == ["base", "messages"]
