"""Precision/recall of criteria against ground truth and QA decisions; threshold sweeps."""

from __future__ import annotations

import pytest

from convolab.errors import CriteriaError
from convolab.flags import dismiss_flag, evaluate_flags, run_flags, sweep


@pytest.fixture
def tuned_lab(sample_lab):
    return sample_lab


def test_evaluate_against_ground_truth(tuned_lab):
    frame = evaluate_flags(tuned_lab.con)
    rows = {r["criterion"]: r for r in frame.to_dicts()}
    assert rows["technical_failure"]["precision"] == 1.0
    assert rows["technical_failure"]["recall"] == 1.0
    assert rows["asked_for_human"]["support"] > 0
    # Evaluation writes no flags.
    assert tuned_lab.con.execute("SELECT count(*) FROM flags").fetchone()[0] == 0


def test_evaluate_against_decisions(tuned_lab):
    run_flags(tuned_lab.con)
    fid = tuned_lab.con.execute(
        "SELECT flag_id FROM flags WHERE criterion = 'technical_failure' LIMIT 1").fetchone()[0]
    dismiss_flag(tuned_lab.con, fid, reviewer="qa")
    rows = {r["criterion"]: r for r in evaluate_flags(tuned_lab.con, labels="decisions").to_dicts()}
    assert rows["technical_failure"]["flagged"] == 1
    assert rows["technical_failure"]["precision"] == 0.0
    assert rows["agent_loop"]["flagged"] == 0  # nothing reviewed


def test_sweep_is_monotone_in_the_threshold(tuned_lab):
    frame, fig = sweep(tuned_lab.con, "slow_agent_response", "gap_s", [5, 15, 60])
    flagged = frame["flagged"].to_list()
    assert flagged == sorted(flagged, reverse=True)
    assert frame["recall"][0] >= frame["recall"][2]
    assert fig.data[0].x is not None
    with pytest.raises(CriteriaError):
        sweep(tuned_lab.con, "slow_agent_response", "nope", [1])


def test_flag_tuner_updates_counts_and_changes(tuned_lab):
    from convolab.widgets import FlagTuner

    tuner = FlagTuner(tuned_lab)
    tuner.pick.value = "slow_agent_response"
    before = tuner.counts.value
    tuner.sliders.children[0].value = 60
    assert tuner.counts.value != before
    assert "no longer flagged" in tuner.changes.value
    assert tuner.current.params["gap_s"] == 60
    run_flags(tuned_lab.con)  # drops the shared features table; the tuner rebuilds it
    tuner.sliders.children[0].value = 30
    assert "flagged" in tuner.counts.value


def test_tune_flags_notebook_runs_headless():
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    path = Path(__file__).resolve().parents[1] / "notebooks" / "tune_flags.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
