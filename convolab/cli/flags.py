"""CLI commands for review flags: ``flag`` (run criteria) and ``flags`` (list them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convolab.cli._app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    open_store,
    print_json,
)
from convolab.errors import ConvolabError

CriteriaOption = Annotated[
    Path | None, typer.Option("--criteria", help="Criteria YAML file (default: the built-in library).")
]


@app.command("flag")
def flag_command(
    db: DbOption = None,
    criteria: CriteriaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run review criteria over the store and print how many flags each raised."""
    from convolab.flags import criteria_version, load_criteria, run_flags

    try:
        loaded = load_criteria(criteria)
        with open_store(db) as lab:
            counts = run_flags(lab, loaded)
    except ConvolabError as exc:
        fail(str(exc))
    version = criteria_version(loaded)
    if as_json:
        print_json({"criteria_version": version, "counts": counts})
        return
    for name, n in counts.items():
        console.print(f"{name:<24} {n:>8}")
    console.print(f"{'total':<24} {sum(counts.values()):>8}  (criteria version {version})")


@app.command("flags")
def flags_command(
    db: DbOption = None,
    criterion: Annotated[str | None, typer.Option("--criterion", help="Only this criterion.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List review flags with their reasons and newest QA decision."""

    try:
        with open_store(db) as lab:
            frame = lab.list_flags(criterion=criterion).head(limit)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json(frame.drop("evidence").to_dicts())
        return
    for row in frame.iter_rows(named=True):
        decision = f" [{row['decision']}]" if row["decision"] else ""
        console.print(f"{row['flag_id']:>6} {row['conversation_id']} {row['criterion']} "
                      f"({row['severity']}){decision}: {row['reason']}", markup=False)


@app.command("eval-flags")
def eval_flags_command(
    db: DbOption = None,
    criteria: CriteriaOption = None,
    labels: Annotated[
        str, typer.Option("--labels", help="ground_truth (planted/imported labels) or decisions (QA decisions).")
    ] = "ground_truth",
    as_json: JsonOption = False,
) -> None:
    """Precision, recall, F1 and support of each criterion against labels (writes no flags)."""
    from convolab.emotions.scoring import has_scores
    from convolab.flags import evaluate_flags, load_criteria
    from convolab.flags.tuning import quality_table

    if labels not in ("ground_truth", "decisions"):
        fail(f"--labels must be ground_truth or decisions, got {labels!r}")
    try:
        loaded = load_criteria(criteria)
        with open_store(db) as lab:
            frame = evaluate_flags(lab, loaded, labels=labels)
            conversations = lab.count_conversations()
            scored = has_scores(lab)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json({"labels": labels, "conversations": conversations, "criteria": frame.to_dicts()})
        return
    console.print(quality_table(frame, conversations=conversations, labels=labels), markup=False)
    if not scored:
        console.print("no emotion scores: emotion criteria cannot fire (run `convolab score` first)", markup=False)

