"""Calibrating thresholds to labels (cross-validated), the criteria file round trip, "no labels"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convolab.cli import app
from convolab.flags import (
    Criterion,
    confirm_flag,
    dismiss_flag,
    evaluate_flags,
    load_criteria,
    run_flags,
)
from convolab.flags.calibrate import (
    _choose,
    _folds,
    calibrate,
    calibrated_criteria,
    wilson,
    write_criteria,
)
from convolab.flags.tuning import quality_table

T0 = datetime(2026, 11, 1, 9, 0, 0)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def timed(cid: str, reply_s: float, *, slow_label: bool) -> dict:
    """A phone call whose one agent reply takes reply_s seconds; labelled slow or not."""
    return {
        "id": cid, "flow": "Phone line", "platform": "phone", "status": "completed",
        "started_at": _iso(T0), "ended_at": _iso(T0 + timedelta(seconds=reply_s + 30)),
        "messages": [
            {"role": "customer", "text": "What time do you open tomorrow?", "at": _iso(T0 + timedelta(seconds=2))},
            {"role": "agent", "text": "We open at nine.", "at": _iso(T0 + timedelta(seconds=2 + reply_s))},
        ],
        "ground_truth": ["slow_agent_response"] if slow_label else [],
    }


SLOW = Criterion("slow_agent_response", "slowest_reply_s >= :gap_s", params={"gap_s": 5},
                 tune={"gap_s": [5, 10, 20, 30, 40, 80]}, reason="slowest reply {slowest_reply_s} s")


@pytest.fixture
def labelled_lab(lab, write_jsonl):
    # Replies of 3-9 s are fine, 45-70 s are slow; two labels disagree with the times
    # (a 12 s reply a reviewer called slow, a 50 s one they did not), so no threshold is perfect.
    records = [timed(f"ok-{i}", 3 + i % 7, slow_label=False) for i in range(40)]
    records += [timed(f"slow-{i}", 45 + i, slow_label=True) for i in range(25)]
    records += [timed("odd-fast", 12, slow_label=True), timed("odd-slow", 50, slow_label=False)]
    lab.ingest(write_jsonl(records))
    return lab


def test_wilson_interval():
    assert wilson(0, 0) is None
    low, high = wilson(8, 10)
    assert 0.49 < low < 0.5 and 0.94 < high < 0.95  # the textbook 95% Wilson interval for 8/10
    assert wilson(10, 10)[1] == 1.0


def test_folds_are_stratified_and_seeded():
    ids = [f"c{i}" for i in range(50)]
    y = {c: i < 10 for i, c in enumerate(ids)}
    fold = _folds(ids, y, 5, seed=1)
    assert fold == _folds(ids, y, 5, seed=1) and fold != _folds(ids, y, 5, seed=2)
    for k in range(5):
        members = [c for c in ids if fold[c] == k]
        assert len(members) == 10 and sum(y[c] for c in members) == 2


def test_choose_prefers_recall_at_the_target_then_the_middle_of_ties():
    # (tp, fp, fn) per candidate, thresholds in increasing order.
    stats = [(10, 10, 0), (9, 1, 1), (9, 1, 1), (9, 1, 1), (5, 0, 5)]
    assert _choose(stats, 0.8) == (2, True)  # middle of the three tied candidates
    assert _choose(stats, 0.99) == (4, True)
    assert _choose([(1, 5, 9), (2, 5, 8)], 0.9) == (1, False)  # unreachable: best precision


def test_calibrate_fits_thresholds_with_cross_validation(labelled_lab):
    (result,) = calibrate(labelled_lab, [SLOW], labels="ground_truth", target_precision=0.9, folds=5)
    assert result.status == "calibrated" and result.labelled == 67 and result.positives == 26
    # 10 s is the lowest threshold at precision >= 0.9 (26/27: only odd-slow is wrong) and keeps
    # every positive (odd-fast's 12 s included): the highest recall at the target wins.
    assert result.before["gap_s"] == 5 and result.params["gap_s"] == 10
    assert result.fit["precision"] >= 0.9 and result.fit["recall"] >= 0.9
    cv = result.cv
    assert cv["tp"] + cv["fn"] == 26  # every labelled conversation predicted once, out of fold
    assert cv["precision"] >= 0.9 and cv["recall"] >= 0.9
    assert cv["precision_ci"][0] < cv["precision"] <= cv["precision_ci"][1]
    # At the default (5 s) the 28 fine calls of 5-9 s are flagged too: precision 26/55.
    assert result.default["precision"] == pytest.approx(26 / 55)


def test_calibrated_file_round_trips_and_flag_accepts_it(labelled_lab, tmp_path):
    criteria = [SLOW, *(c for c in load_criteria() if c.name != "slow_agent_response")]
    results = calibrate(labelled_lab, criteria, labels="ground_truth", target_precision=0.9)
    by_name = {r.criterion: r for r in results}
    assert by_name["churn_intent"].status == "no labels"
    tuned = calibrated_criteria(criteria, results)
    path = write_criteria(tuned, tmp_path / "tuned.yml", header="calibrated in a test")
    assert path.read_text().startswith("# calibrated in a test\n")
    assert load_criteria(path) == tuned  # exemplars, tune grids, params: everything survives
    counts = run_flags(labelled_lab, load_criteria(path))
    assert counts["slow_agent_response"] == by_name["slow_agent_response"].fit["tp"] + \
        by_name["slow_agent_response"].fit["fp"]


def test_calibrate_on_reviewer_decisions(labelled_lab):
    run_flags(labelled_lab, [SLOW.with_params(gap_s=10)])
    flags = labelled_lab.list_flags(criterion="slow_agent_response").to_dicts()
    assert len(flags) == 27  # 25 slow, odd-slow, odd-fast, and nothing else
    for f in flags:
        if f["conversation_id"] in ("odd-fast", "odd-slow"):
            dismiss_flag(labelled_lab, f["flag_id"], reviewer="qa")
        else:
            confirm_flag(labelled_lab, f["flag_id"], reviewer="qa")
    (result,) = calibrate(labelled_lab, [SLOW], labels="decisions", target_precision=0.95, folds=3)
    assert result.labelled == 27 and result.positives == 25
    # 20, 30 and 40 s all drop odd-fast (12 s) and keep every confirmed flag: the middle one wins.
    assert result.params["gap_s"] == 30 and result.fit["precision"] == pytest.approx(25 / 26)
    (none,) = calibrate(labelled_lab, [Criterion("other", "turns > :n", params={"n": 1}, tune={"n": [1, 2]})],
                        labels="decisions")
    assert none.status == "no labels"


def test_calibrate_cli_writes_a_file_flag_accepts(labelled_lab, tmp_path):
    src = write_criteria([SLOW], tmp_path / "in.yml")
    db = str(labelled_lab.path)
    labelled_lab.close()
    out = tmp_path / "out.yml"
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--db", db, "--criteria", str(src), "--labels", "ground_truth",
                                 "--target-precision", "0.9", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "slow_agent_response" in result.output and "95% Wilson" in result.output
    assert "gap_s=" in result.output and "(was 5)" in result.output
    result = runner.invoke(app, ["flag", "--db", db, "--criteria", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["slow_agent_response"] in range(24, 28)
    result = runner.invoke(app, ["calibrate", "--db", db, "--out", str(out), "--labels", "nope"])
    assert result.exit_code == 1 and "--labels must be" in result.output
    result = runner.invoke(app, ["calibrate", "--db", db, "--out", str(out), "--target-precision", "2"])
    assert result.exit_code == 1


def test_eval_flags_says_no_labels_instead_of_precision_zero(labelled_lab):
    frame = evaluate_flags(labelled_lab, [SLOW, next(c for c in load_criteria() if c.name == "function_failed")])
    rows = {r["criterion"]: r for r in frame.to_dicts()}
    assert rows["slow_agent_response"]["labelled"] == 67 and rows["slow_agent_response"]["precision"] is not None
    assert rows["function_failed"]["labelled"] == 0 and rows["function_failed"]["precision"] is None
    table = quality_table(frame)
    assert [line for line in table.splitlines() if line.startswith("function_failed")][0].split()[1:3] == \
        ["no", "labels"]
    # decisions: nothing reviewed means no labels, even for a criterion that flags
    run_flags(labelled_lab, [SLOW])
    rows = {r["criterion"]: r for r in evaluate_flags(labelled_lab, [SLOW], labels="decisions").to_dicts()}
    assert rows["slow_agent_response"]["labelled"] == 0 and rows["slow_agent_response"]["precision"] is None


def test_eval_flags_cli_prints_no_labels(labelled_lab):
    db = str(labelled_lab.path)
    labelled_lab.close()
    result = CliRunner().invoke(app, ["eval-flags", "--db", db, "--labels", "decisions"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("agent_loop"))
    assert "no labels" in line and "0.000" not in line



def test_a_guard_bounds_the_share_of_tagged_conversations_flagged(labelled_lab, write_jsonl):
    # Ten unreviewed calls tagged channel=booking answer in 35 s. On the reviewers' decisions
    # alone 20, 30 and 40 s tie (the middle, 30, wins); 20 and 30 would flag every booking call,
    # so the guard leaves 40.
    guarded = [{**timed(f"book-{i}", 35, slow_label=False), "tags": {"channel": "booking"}} for i in range(10)]
    labelled_lab.ingest(write_jsonl(guarded, name="guarded.jsonl"))
    run_flags(labelled_lab, [SLOW.with_params(gap_s=10)])
    for f in labelled_lab.list_flags(criterion="slow_agent_response").to_dicts():
        if f["conversation_id"].startswith("odd-"):
            dismiss_flag(labelled_lab, f["flag_id"], reviewer="qa")
        elif f["conversation_id"].startswith("slow-"):
            confirm_flag(labelled_lab, f["flag_id"], reviewer="qa")
    (free,) = calibrate(labelled_lab, [SLOW], labels="decisions", target_precision=0.95, folds=3)
    (held,) = calibrate(labelled_lab, [SLOW], labels="decisions", target_precision=0.95, folds=3,
                        guard=("channel", "booking"), guard_share=0.02)
    assert free.params["gap_s"] == 30 and free.guard_share is None
    assert held.params["gap_s"] == 40 and held.guard_share == 0.0
    assert held.labelled == free.labelled == 27  # reviewed calls only; the booking calls are not labels


def test_a_calibrated_file_names_its_store_without_a_password():
    from convolab.cli.flags import _store_name

    assert _store_name(Path("/data/qa.duckdb")) == "qa.duckdb"
    assert _store_name("ducklake:sqlite:/srv/team/cat.sqlite") == "the team store cat.sqlite"
    shown = _store_name("ducklake:postgres:dbname=qa host=db password=s3cret user=qa?data=/srv/lake")
    assert "s3cret" not in shown and "dbname=qa" in shown and "/srv/lake" not in shown
