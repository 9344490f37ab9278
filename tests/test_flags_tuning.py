"""Precision/recall of criteria against ground truth and QA decisions; threshold sweeps."""

from __future__ import annotations

import math

import polars as pl
import pytest

from convolab.errors import CriteriaError
from convolab.flags import dismiss_flag, evaluate_flags, load_criteria, run_flags, sweep


@pytest.fixture
def tuned_lab(sample_lab):
    return sample_lab


def test_evaluate_against_ground_truth(tuned_lab):
    frame = evaluate_flags(tuned_lab)
    rows = {r["criterion"]: r for r in frame.to_dicts()}
    assert rows["technical_failure"]["precision"] == 1.0
    assert rows["technical_failure"]["recall"] == 1.0
    assert rows["asked_for_human"]["support"] > 0
    # Evaluation writes no flags.
    assert tuned_lab.execute("SELECT count(*) FROM flags").fetchone()[0] == 0


def test_evaluate_against_decisions(tuned_lab):
    run_flags(tuned_lab)
    fid = tuned_lab.execute(
        "SELECT flag_id FROM flags WHERE criterion = 'technical_failure' LIMIT 1").fetchone()[0]
    dismiss_flag(tuned_lab, fid, reviewer="qa")
    rows = {r["criterion"]: r for r in evaluate_flags(tuned_lab, labels="decisions").to_dicts()}
    assert rows["technical_failure"]["flagged"] == 1
    assert rows["technical_failure"]["precision"] == 0.0
    assert rows["agent_loop"]["flagged"] == 0  # nothing reviewed


def test_sweep_is_monotone_in_the_threshold(tuned_lab):
    frame, fig = sweep(tuned_lab, "slow_agent_response", "gap_s", [5, 15, 60])
    flagged = frame["flagged"].to_list()
    assert flagged == sorted(flagged, reverse=True)
    assert frame["recall"][0] >= frame["recall"][2]
    assert fig.data[0].x is not None
    with pytest.raises(CriteriaError):
        sweep(tuned_lab, "slow_agent_response", "nope", [1])


def test_flag_tuner_updates_counts_and_changes(tuned_lab):
    from convolab.widgets import FlagTuner

    tuner = FlagTuner(tuned_lab)
    tuner.pick.value = "slow_agent_response"
    before = tuner.counts.value
    tuner.sliders.children[0].value = 60
    assert tuner.counts.value != before
    assert "no longer flagged" in tuner.changes.value
    assert tuner.current.params["gap_s"] == 60
    run_flags(tuned_lab)  # drops the shared features table; the tuner rebuilds it
    tuner.sliders.children[0].value = 30
    assert "flagged" in tuner.counts.value


def test_tune_flags_notebook_runs_headless():
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    path = Path(__file__).resolve().parents[1] / "notebooks" / "tune_flags.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()


@pytest.fixture(scope="module")
def scored_sample(tmp_path_factory):
    """1,500 generated conversations, scored with the shipped emotion model (real inference)."""
    import convolab
    from convolab.emotions import score_store
    from convolab.generate import write_conversations

    work = tmp_path_factory.mktemp("quality")
    path = work / "quality.duckdb"
    with convolab.open(path) as lab:
        lab.ingest(write_conversations(work / "sample.jsonl", 1500, seed=3))
        score_store(lab)
    return path


def test_built_ins_meet_the_quality_bars_on_scored_generated_data(scored_sample):
    import convolab

    with convolab.open(scored_sample) as lab:
        n = lab.execute("SELECT count(*) FROM conversations").fetchone()[0]
        audio = ("dead_air", "agent_interrupts_customer", "slow_agent_latency")  # no recordings here
        without = evaluate_flags(lab).filter(pl.col("criterion").is_in(audio))
        assert without["flagged"].to_list() == [0, 0, 0] and without["support"].to_list() == [0, 0, 0]
        frame = evaluate_flags(lab, [c for c in load_criteria() if c.name not in audio])
        assert frame.height == 12  # every transcript built-in, churn_intent included
        for r in frame.to_dicts():
            assert 0 < r["flagged"] < n / 2, r  # fires on some, not on most
            assert r["recall"] >= 0.9 and r["precision"] >= 0.8, r
        # Thresholds sit in a gap, not at a knife edge: moving them keeps the bars. The emotion
        # peak is a probability, so it moves on the logit scale: 0.4 either side is what 0.4 and
        # 0.6 were around the first model's 0.5; around the shipped 0.9 that is 0.86 and 0.93.
        peak = next(c for c in load_criteria() if c.name == "frustrated_customer").params["peak"]
        logit = math.log(peak / (1 - peak))
        peaks = [round(1 / (1 + math.exp(-(logit + step))), 3) for step in (-0.4, 0.4)]
        for name, param, values in [("frustrated_customer", "peak", peaks),
                                    ("sentiment_worsened", "end_max", [-0.35, -0.65]),
                                    ("duration_anomaly", "z", [4.2, 5.8])]:
            swept, _ = sweep(lab, name, param, values)
            for r in swept.to_dicts():
                assert r["recall"] >= 0.9 and r["precision"] >= 0.8, (name, r)


def test_eval_flags_cli_prints_the_table(scored_sample):
    import json

    from typer.testing import CliRunner

    from convolab.cli import app

    result = CliRunner().invoke(app, ["eval-flags", "--db", str(scored_sample)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["criterion", "precision", "recall", "f1", "support", "flagged"]
    assert "sentiment_worsened" in result.output and "1,500 conversations" in result.output
    result = CliRunner().invoke(app, ["eval-flags", "--db", str(scored_sample), "--json"])
    rows = {r["criterion"]: r for r in json.loads(result.stdout)["criteria"]}
    assert rows["frustrated_customer"]["recall"] >= 0.9
    result = CliRunner().invoke(app, ["eval-flags", "--db", str(scored_sample), "--labels", "nope"])
    assert result.exit_code == 1
