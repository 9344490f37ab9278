"""Calibrating criteria thresholds to a team's own labels, with cross-validation.

``convolab calibrate`` (and :func:`calibrate`) fits each criterion's tunable
params (the ``tune`` grid in the criteria file) on labels in the store:

- ``decisions``: the reviewers' newest confirm / dismiss decision per
  conversation and criterion (only reviewed conversations are labelled, so a
  threshold can be fitted only within what was flagged and reviewed: lowering a
  threshold below what produced the reviewed flags cannot be judged);
- ``ground_truth``: the ``ground_truth`` table (planted or imported labels);
  every conversation is labelled, absence meaning negative. A criterion with no
  positive row at all has "no labels" (an unlabelled criterion cannot be told
  from one that never happens).

Fitting picks, among the grid's combinations, the one with the highest recall
whose precision reaches ``target_precision`` (else the highest precision), or
without a target the highest F1. Among equally good combinations it takes the
middle one in grid order: for a single threshold that is the middle of the range
giving the same result, the value furthest from either edge.

How good the fitted thresholds are is measured by k-fold cross-validation by
conversation (folds stratified by label and seeded): each fold is predicted with
params fitted on the other folds, and precision and recall are computed over the
pooled out-of-fold predictions, with 95% Wilson score intervals. The params
written are then fitted on all labelled conversations.

Every combination is one set-based query over the cached features (see
:mod:`convolab.flags.features`); nothing is written to ``flags``.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from convolab.errors import CriteriaError, InvalidArgument
from convolab.flags.criteria import _FEATURES_TABLE, Criterion, compile_criteria, load_criteria
from convolab.flags.tuning import labels_sql

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["Calibration", "calibrate", "wilson", "write_criteria"]

#: Fewest positive labels a criterion needs before its thresholds are fitted.
MIN_POSITIVES = 5
#: Most grid combinations tried per criterion.
MAX_COMBINATIONS = 5000


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """95% Wilson score interval for ``k`` successes in ``n`` trials (None when n is 0)."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k == 0 or k == n the bound is exactly 0 or 1; floating point lands a hair off.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass
class Calibration:
    """One criterion's calibration.

    ``status`` is ``calibrated``, ``no labels``, ``too few labels`` or
    ``not tunable`` (no ``tune`` grid); only ``calibrated`` changes params.
    ``cv`` holds the cross-validated ``precision``, ``recall`` (with
    ``precision_ci`` / ``recall_ci``), ``tp``, ``fp``, ``fn``; ``fit`` the same
    on all labels with the params written; ``default`` with the params before.
    """

    criterion: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    labelled: int = 0
    positives: int = 0
    target_reached: bool | None = None
    cv: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=dict)
    guard_share: float | None = None  # share of the guard conversations flagged with the params written


def _scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall else 0.0)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
            "precision_ci": wilson(tp, tp + fp), "recall_ci": wilson(tp, tp + fn)}


def _labelled(store: Workbench, name: str, labels: str) -> dict[str, bool]:
    """conversation id -> positive, for the conversations labelled for this criterion."""
    if labels == "ground_truth":
        positives = {r[0] for r in store.execute(
            "SELECT conversation_id FROM ground_truth WHERE criterion = ?", [name]).fetchall()}
        if not positives:
            return {}
        return {r[0]: r[0] in positives for r in store.execute("SELECT id FROM conversations").fetchall()}
    rows = store.execute(
        f"SELECT conversation_id, positive FROM ({labels_sql(labels)}) WHERE criterion = ?",  # noqa: S608
        [name]).fetchall()
    return {cid: bool(pos) for cid, pos in rows}


def _grid(c: Criterion) -> list[dict[str, Any]]:
    names = list(c.tune)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*(c.tune[n] for n in names))]
    if len(combos) > MAX_COMBINATIONS:
        raise CriteriaError(f"the tune grid has {len(combos):,} combinations (at most {MAX_COMBINATIONS:,})",
                            criterion=c.name)
    return combos


def _choose(stats: list[tuple[int, int, int]], target: float | None) -> tuple[int, bool | None]:
    """Index of the best combination by (tp, fp, fn), and whether the target precision was reached."""

    def precision(s: tuple[int, int, int]) -> float:
        return s[0] / (s[0] + s[1]) if s[0] + s[1] else 0.0

    def recall(s: tuple[int, int, int]) -> float:
        return s[0] / (s[0] + s[2]) if s[0] + s[2] else 0.0

    reached: bool | None = None
    if target is not None:
        ok = [i for i, s in enumerate(stats) if s[0] and precision(s) >= target]
        reached = bool(ok)
        if ok:
            best = max((recall(stats[i]), precision(stats[i])) for i in ok)
            tied = [i for i in ok if (recall(stats[i]), precision(stats[i])) == best]
        else:
            best = max((precision(s), recall(s)) for s in stats)
            tied = [i for i, s in enumerate(stats) if (precision(s), recall(s)) == best]
    else:
        f1 = [2 * s[0] / (2 * s[0] + s[1] + s[2]) if s[0] else 0.0 for s in stats]
        tied = [i for i, v in enumerate(f1) if v == max(f1)]
    return tied[len(tied) // 2], reached


def _folds(ids: list[str], y: dict[str, bool], k: int, seed: int) -> dict[str, int]:
    """Stratified, seeded assignment of conversations to k folds."""
    rng = random.Random(seed)
    fold: dict[str, int] = {}
    for group in ([i for i in ids if y[i]], [i for i in ids if not y[i]]):
        group = sorted(group)
        rng.shuffle(group)
        for j, cid in enumerate(group):
            fold[cid] = j % k
    return fold


def calibrate(
    store: Workbench,
    criteria: list[Criterion] | None = None,
    *,
    labels: str = "ground_truth",
    target_precision: float | None = None,
    targets: dict[str, float | None] | None = None,
    guard: tuple[str, str] | None = None,
    guard_share: float = 0.02,
    folds: int = 5,
    seed: int = 0,
) -> list[Calibration]:
    """Fit each criterion's ``tune`` params to the store's labels, with k-fold cross-validation.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    criteria
        Criteria to calibrate; default the built-in library.
    labels
        ``"ground_truth"`` or ``"decisions"`` (see the module docstring).
    target_precision
        Highest recall at this precision; ``None`` for the best F1.
    targets
        Per-criterion overrides of ``target_precision`` (``None``: best F1).
    guard
        A tag ``(key, value)`` naming conversations that should (almost) never be
        flagged, e.g. ``("channel", "booking")`` for cooperative booking bots:
        they leave the labelled set and a combination is only chosen if it flags
        at most ``guard_share`` of them (if none does, the one flagging fewest).
    folds
        Number of cross-validation folds (2 or more).
    seed
        Seed of the fold assignment.

    Returns
    -------
    list of Calibration
        One per criterion, in order.
    """
    labels_sql(labels)
    if folds < 2:
        raise InvalidArgument(f"folds must be 2 or more, got {folds}")
    targets = dict(targets or {})
    for value in (target_precision, *targets.values()):
        if value is not None and not 0 < value <= 1:
            raise InvalidArgument(f"target precision must be in (0, 1], got {value}")
    criteria = load_criteria() if criteria is None else list(criteria)
    unknown = set(targets) - {c.name for c in criteria}
    if unknown:
        raise InvalidArgument(f"no criterion named {sorted(unknown)[0]!r} to set a target for")
    guarded: set[str] = set()
    if guard is not None:
        guarded = {r[0] for r in store.execute(
            "SELECT DISTINCT conversation_id FROM tags WHERE key = ? AND value = ?", list(guard)).fetchall()}
    return [_calibrate_one(store, c, labels=labels, target=targets.get(c.name, target_precision), folds=folds,
                           seed=seed, guarded=guarded, guard_share=guard_share) for c in criteria]


def _flagged(store: Workbench, comp: Any, index: dict[str, int]) -> np.ndarray:
    """Which labelled conversations (by index) a compiled criterion flags."""
    hits = [index[r[0]] for r in store.execute(
        f"SELECT conversation_id FROM {_FEATURES_TABLE} f WHERE {comp.where}",  # noqa: S608 (compiled fragments)
        comp.where_params).fetchall() if r[0] in index]
    row = np.zeros(len(index), dtype=bool)
    row[hits] = True
    return row


def _counts(pred: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(tp, fp, fn) of each prediction row (combination) over the selected conversations."""
    p, t = np.atleast_2d(pred)[:, rows], truth[rows]
    tp = (p & t).sum(1)
    return list(zip(tp.tolist(), (p & ~t).sum(1).tolist(), (t.sum() - tp).tolist(), strict=True))


def _calibrate_one(store: Workbench, c: Criterion, *, labels: str, target: float | None, folds: int,
                   seed: int, guarded: set[str], guard_share: float) -> Calibration:
    y = {cid: v for cid, v in _labelled(store, c.name, labels).items() if cid not in guarded}
    positives = sum(y.values())
    result = Calibration(c.name, "calibrated", dict(c.params), dict(c.params), len(y), positives)
    if not y or not positives:
        result.status = "no labels"
        return result
    ids = sorted(y)
    index = {cid: j for j, cid in enumerate(ids)}
    truth = np.array([y[i] for i in ids], dtype=bool)
    everyone = np.ones(len(ids), dtype=bool)
    (_c, comp), = compile_criteria(store, [c])
    result.default = _scores(*_counts(_flagged(store, comp, index), truth, everyone)[0])
    if not c.tune:
        result.status, result.fit = "not tunable", result.default
        return result
    if positives < MIN_POSITIVES:
        result.status, result.fit = "too few labels", result.default
        return result
    grid = _grid(c)
    # One compile for every combination (features and meaning scores are built once), then
    # a matrix combinations x labelled conversations: does each combination flag each one?
    compiled = compile_criteria(store, [c.with_params(**combo) for combo in grid])
    flagged = np.stack([_flagged(store, comp, index) for _v, comp in compiled])
    allowed = np.ones(len(grid), dtype=bool)
    if guarded:
        guard_index = {cid: j for j, cid in enumerate(sorted(guarded))}
        shares = np.array([_flagged(store, comp, guard_index).mean() for _v, comp in compiled])
        allowed = shares <= guard_share if (shares <= guard_share).any() else shares == shares.min()
    candidates = np.flatnonzero(allowed)
    assignment = _folds(ids, y, folds, seed)
    fold = np.array([assignment[i] for i in ids])
    tp = fp = fn = 0
    for k in range(folds):
        best, _ = _choose(_counts(flagged[candidates], truth, fold != k), target)
        a, b, d = _counts(flagged[candidates[best]], truth, fold == k)[0]
        tp, fp, fn = tp + a, fp + b, fn + d
    result.cv = _scores(tp, fp, fn)
    best, result.target_reached = _choose(_counts(flagged[candidates], truth, everyone), target)
    best = int(candidates[best])
    result.params = {**c.params, **grid[best]}
    result.fit = _scores(*_counts(flagged[best], truth, everyone)[0])
    if guarded:
        result.guard_share = float(shares[best])
    return result


def calibrated_criteria(criteria: list[Criterion], results: list[Calibration]) -> list[Criterion]:
    """The criteria with each calibrated criterion's params replaced."""
    by_name = {r.criterion: r for r in results}
    return [c.with_params(**by_name[c.name].params) if c.name in by_name and by_name[c.name].status == "calibrated"
            else c for c in criteria]


def write_criteria(criteria: list[Criterion], path: str | Path, *, header: str = "") -> Path:
    """Write criteria as a YAML file that :func:`convolab.flags.load_criteria` reads back unchanged."""
    path = Path(path)
    items = []
    for c in criteria:
        item: dict[str, Any] = {"name": c.name, "description": c.description, "severity": c.severity,
                                "condition": c.condition}
        if c.params:
            item["params"] = c.params
        if c.flow_params:
            item["flow_params"] = c.flow_params
        if c.tune:
            item["tune"] = c.tune
        if c.reason:
            item["reason"] = c.reason
        items.append(item)
    text = yaml.safe_dump({"criteria": items}, sort_keys=False, allow_unicode=True, width=100)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    try:
        path.write_text(comment + text, encoding="utf-8")
    except OSError as exc:
        raise CriteriaError(f"cannot write criteria file {path}: {exc.strerror}") from exc
    return path
