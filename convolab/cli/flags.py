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
    err_console,
    fail,
    open_store,
    print_json,
    resolve_db,
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
    """Run review criteria over the store and print how many flags each raised.

    Criteria that read meaning (``customer_means``) first embed the customer
    sentences not embedded yet (incremental: a re-run embeds only new text).
    """
    from convolab.errors import MissingExtra
    from convolab.flags import criteria_version, load_criteria, run_flags
    from convolab.flags.criteria import reads_meaning
    from convolab.flags.embeddings import embed_store

    embedded: dict[str, object] | None = None
    try:
        loaded = load_criteria(criteria)
        with open_store(db) as lab:
            if reads_meaning(loaded):
                try:
                    done = embed_store(lab)
                    embedded = {"sentences": done["embedded"], "seconds": round(done["seconds"], 1),
                                "model_id": done["model_id"]}
                except MissingExtra as exc:
                    err_console.print(f"note: {exc}; criteria that read meaning cannot fire", markup=False, soft_wrap=True)
            counts = run_flags(lab, loaded)
    except ConvolabError as exc:
        fail(str(exc))
    version = criteria_version(loaded)
    if as_json:
        print_json({"criteria_version": version, "counts": counts, "embedded": embedded})
        return
    for name, n in counts.items():
        console.print(f"{name:<24} {n:>8}")
    console.print(f"{'total':<24} {sum(counts.values()):>8}  (criteria version {version})")
    if embedded and embedded["sentences"]:
        console.print(f"embedded {embedded['sentences']:,} new customer sentences in {embedded['seconds']} s",
                      markup=False, soft_wrap=True)


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
                      f"({row['severity']}){decision}: {row['reason']}", markup=False, soft_wrap=True)


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
    console.print(quality_table(frame, conversations=conversations, labels=labels), markup=False, soft_wrap=True)
    if not scored:
        console.print("no emotion scores: emotion criteria cannot fire (run `convolab score` first)", markup=False, soft_wrap=True)



def _interval(ci: tuple[float, float] | None) -> str:
    return "      -     " if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _num(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


@app.command("calibrate")
def calibrate_command(
    out: Annotated[Path, typer.Option("--out", help="Criteria YAML file to write (for `convolab flag --criteria`).")],
    db: DbOption = None,
    criteria: CriteriaOption = None,
    labels: Annotated[
        str, typer.Option("--labels", help="decisions (reviewers' confirm/dismiss) or ground_truth (labelled table).")
    ] = "decisions",
    target_precision: Annotated[
        float | None, typer.Option("--target-precision", help="Highest recall at this precision (default: best F1).")
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", help="Per criterion: NAME=PRECISION or NAME=f1 (repeatable).")
    ] = None,
    guard: Annotated[
        str | None, typer.Option("--guard", help="KEY=VALUE tag of conversations that should not be flagged"
                                 " (e.g. channel=booking); they bound each criterion's flagged share.")
    ] = None,
    guard_share: Annotated[
        float, typer.Option("--guard-share", help="Most of the --guard conversations a criterion may flag.")
    ] = 0.02,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds (by conversation).")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fold assignment.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Fit each criterion's thresholds to labels with k-fold cross-validation and write a criteria file.

    Precision and recall are measured on the pooled out-of-fold predictions, with
    95% Wilson score intervals; the params written are fitted on all labels.
    """
    from convolab.flags import load_criteria
    from convolab.flags.calibrate import calibrate, calibrated_criteria, write_criteria

    if labels not in ("ground_truth", "decisions"):
        fail(f"--labels must be ground_truth or decisions, got {labels!r}")
    if target_precision is not None and not 0 < target_precision <= 1:
        fail(f"--target-precision must be in (0, 1], got {target_precision}")
    if folds < 2:
        fail(f"--folds must be 2 or more, got {folds}")
    guard_tag: tuple[str, str] | None = None
    if guard is not None:
        key, sep, value = guard.partition("=")
        if not sep or not key.strip():
            fail(f"--guard takes KEY=VALUE, got {guard!r}")
        guard_tag = (key.strip(), value.strip())
    targets: dict[str, float | None] = {}
    for item in target or []:
        name, _, value = item.partition("=")
        try:
            targets[name.strip()] = None if value.strip().lower() == "f1" else float(value)
        except ValueError:
            fail(f"--target takes NAME=PRECISION or NAME=f1, got {item!r}")
    if out.exists() and out.is_dir():
        fail(f"{out} is a folder; --out takes a file name")
    try:
        loaded = load_criteria(criteria)
        with open_store(db) as lab:
            results = calibrate(lab, loaded, labels=labels, target_precision=target_precision,
                                targets=targets, guard=guard_tag, guard_share=guard_share, folds=folds,
                                seed=seed)
        tuned = calibrated_criteria(loaded, results)
        header = (f"Calibrated by `convolab calibrate` on {_store_name(resolve_db(db))} (labels: {labels},"
                  f" target precision: {target_precision if target_precision is not None else 'best F1'},"
                  f" {folds}-fold cross-validation, seed {seed}).")
        write_criteria(tuned, out, header=header)
        load_criteria(out)  # what was written must load back
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json({"out": str(out), "labels": labels, "target_precision": target_precision, "targets": targets,
                    "folds": folds,
                    "criteria": [vars(r) for r in results]})
        return
    console.print(f"{'criterion':<22} {'status':<15} {'labelled':>8} {'pos.':>5}  {'CV precision':>12} {'95% CI':>12}"
                  f"  {'CV recall':>9} {'95% CI':>12}  params", markup=False, soft_wrap=True)
    for r in results:
        tuned_params = {k: v for k, v in r.params.items() if not isinstance(v, dict) and r.before.get(k) != v}
        changed = ", ".join(f"{k}={v:g} (was {r.before[k]:g})" for k, v in tuned_params.items()) or "unchanged"
        if r.status != "calibrated":
            changed = "unchanged"
        cv = r.cv or {}
        console.print(f"{r.criterion:<22} {r.status:<15} {r.labelled:>8} {r.positives:>5}  "
                      f"{_num(cv.get('precision')):>12} {_interval(cv.get('precision_ci')):>12}  "
                      f"{_num(cv.get('recall')):>9} {_interval(cv.get('recall_ci')):>12}  {changed}"
                      + (f"  (flags {r.guard_share:.1%} of --guard)" if r.guard_share is not None else "")
                      + ("  (target precision not reached)" if r.target_reached is False else ""), markup=False, soft_wrap=True)
    console.print(f"95% Wilson score intervals on the pooled out-of-fold predictions of {folds}-fold"
                  f" cross-validation by conversation. Wrote {out}; use it with"
                  f" `convolab flag --criteria {out}`.", markup=False, soft_wrap=True)


def _store_name(location: Path | str) -> str:
    """A store as a criteria file's header names it: a file by its name, a team store by its
    catalog (a SQLite file's name, or the PostgreSQL connection with any password masked)."""
    if isinstance(location, Path):
        return location.name
    from convolab.store.lake import LakeLocation

    lake = LakeLocation.parse(location)
    if lake.kind == "sqlite":
        return f"the team store {Path(lake.catalog).name}"
    return f"the team store {LakeLocation(lake.kind, lake.catalog, None)}"  # str() masks a password

