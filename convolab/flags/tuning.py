"""Tuning review criteria: precision/recall against labels, and threshold sweeps.

Criteria are evaluated without writing flags, over the same cached features
table as :func:`convolab.flags.run_flags` (see :mod:`convolab.flags.features`):
it is built once per connection, extended with only the features a criterion
needs, and rebuilt when the data changes; each criterion (or each threshold
value) is then one set-based query over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from convolab.errors import CriteriaError
from convolab.flags.criteria import _FEATURES_TABLE, Criterion, compile_criteria, load_criteria
from convolab.flags.features import ensure_features, features_in_sql
from convolab.store.reviews import latest_decisions_sql

if TYPE_CHECKING:
    import plotly.graph_objects as go

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["evaluate_flags", "flagged_ids", "labels_sql", "quality_table", "score_criterion", "sweep"]


def labels_sql(labels: str) -> str:
    """SQL of (conversation_id, criterion, positive) for a label source: ``ground_truth`` or ``decisions``."""
    # Fixed SQL per label source (the argument only selects one of two strings).
    if labels == "ground_truth":
        return "SELECT conversation_id, criterion, TRUE AS positive FROM ground_truth"
    if labels == "decisions":
        return f"SELECT conversation_id, criterion, decision = 'confirmed' AS positive FROM ({latest_decisions_sql()})"  # noqa: S608
    raise ValueError(f"labels must be 'ground_truth' or 'decisions', got {labels!r}")


def _scores(store: Workbench, name: str, where: str, params: list[Any], labels: str,
            *, ensure: bool = True) -> dict[str, Any]:
    """Flagged / true-positive / support counts for one criterion condition.

    With ``ensure`` (the default) the cached features the condition reads are
    checked first (and built or refreshed if needed): one cheap query when
    they are current.
    """
    if ensure:
        ensure_features(store, features_in_sql(where))
    lab = labels_sql(labels)
    # With decisions only reviewed conversations are labelled; elsewhere every
    # conversation is, and absence from ground_truth means negative.
    universe = "l.conversation_id IS NOT NULL" if labels == "decisions" else "TRUE"
    row = store.execute(
        f"""
        WITH pred AS (SELECT f.conversation_id, ({where}) IS TRUE AS flagged FROM {_FEATURES_TABLE} f),
             l AS (SELECT * FROM ({lab}) WHERE criterion = ?)
        SELECT count(*) FILTER (WHERE p.flagged),
               count(*) FILTER (WHERE p.flagged AND coalesce(l.positive, FALSE)),
               count(*) FILTER (WHERE coalesce(l.positive, FALSE)),
               count(*) FILTER (WHERE l.conversation_id IS NOT NULL), count(*)
        FROM pred p LEFT JOIN l ON l.conversation_id = p.conversation_id
        WHERE {universe}
        """,  # noqa: S608 (where comes from the criteria compiler; params are bound)
        [*params, name],
    ).fetchone()
    flagged, tp, support, labelled, total = (int(v) for v in row)
    # ground_truth holds positives only: a criterion with none has no labels (it cannot
    # be told from one that never happens), not precision 0. With decisions, the
    # reviewed conversations are the labelled ones.
    if labels != "decisions":
        labelled = total if support else 0
    precision = tp / flagged if flagged and labelled else None
    recall = tp / support if support else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"criterion": name, "labelled": labelled, "flagged": flagged, "true_positives": tp,
            "support": support, "precision": precision, "recall": recall, "f1": f1}


def score_criterion(store: Workbench, criterion: Criterion, *, labels: str = "ground_truth") -> dict[str, Any]:
    """Flagged, true positives, support, precision, recall and F1 of one criterion, without writing flags.

    The cached features it reads are brought up to date first (one cheap query when
    they are current), so this is what a tuning widget calls on every slider move.
    """
    labels_sql(labels)
    (c, comp), = compile_criteria(store, [criterion])
    return _scores(store, c.name, comp.where, comp.where_params, labels, ensure=False)


def flagged_ids(store: Workbench, criterion: Criterion) -> set[str]:
    """The conversations a criterion would flag now, without writing flags."""
    (_c, comp), = compile_criteria(store, [criterion])
    rows = store.execute(
        f"SELECT conversation_id FROM {_FEATURES_TABLE} f WHERE {comp.where}",  # noqa: S608 - compiled fragments
        comp.where_params,
    ).fetchall()
    return {r[0] for r in rows}


def evaluate_flags(
    store: Workbench,
    criteria: list[Criterion] | None = None,
    *,
    labels: str = "ground_truth",
) -> pl.DataFrame:
    """Precision, recall, F1 and support per criterion, without writing flags.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    criteria
        Criteria to evaluate; default the built-in library.
    labels
        ``"ground_truth"`` (the ``ground_truth`` table; every conversation is
        labelled) or ``"decisions"`` (newest QA decision: confirmed = positive,
        dismissed = negative; only reviewed conversations count).

    Returns
    -------
    polars.DataFrame
        criterion, labelled (conversations with a label for it; 0 means "no
        labels", and precision, recall and F1 are then null), flagged,
        true_positives, support, precision, recall, f1.
    """
    labels_sql(labels)
    criteria = load_criteria() if criteria is None else list(criteria)
    compiled = compile_criteria(store, criteria)
    rows = [_scores(store, c.name, comp.where, comp.where_params, labels, ensure=False) for c, comp in compiled]
    return pl.DataFrame(rows, schema={"criterion": pl.String, "labelled": pl.Int64, "flagged": pl.Int64,
                                      "true_positives": pl.Int64,
                                      "support": pl.Int64, "precision": pl.Float64, "recall": pl.Float64,
                                      "f1": pl.Float64})


def quality_table(frame: pl.DataFrame, *, conversations: int | None = None, labels: str = "ground_truth") -> str:
    """:func:`evaluate_flags`'s frame as a plain-text table (``convolab eval-flags``, bench/flag_quality.py)."""

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines = [f"{'criterion':<25} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8} {'flagged':>8}"]
    for r in frame.iter_rows(named=True):
        if "labelled" in r and not r["labelled"]:
            lines.append(f"{r['criterion']:<25} {'no labels':>24} {'-':>8} {r['flagged']:>8}")
            continue
        lines.append(f"{r['criterion']:<25} {num(r['precision']):>9} {num(r['recall']):>7} {num(r['f1']):>6}"
                     f" {r['support']:>8} {r['flagged']:>8}")
    if conversations is not None:
        lines.append(f"({conversations:,} conversations, labels: {labels})")
    return "\n".join(lines)


def sweep(
    store: Workbench,
    criterion: str | Criterion,
    param: str,
    values: list[float],
    *,
    labels: str = "ground_truth",
    criteria: list[Criterion] | None = None,
) -> tuple[pl.DataFrame, go.Figure]:
    """Precision and recall of one criterion over a range of one param's values.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    criterion
        A criterion, or the name of one in ``criteria`` (default library).
    param
        The param to vary (its per-flow overrides are kept).
    values
        Values to try.
    labels
        As in :func:`evaluate_flags`.

    Returns
    -------
    (polars.DataFrame, plotly.graph_objects.Figure)
        One row per value (value, flagged, true_positives, support, precision,
        recall, f1) and a precision-recall curve annotated with the values.

    Examples
    --------
    >>> frame, fig = sweep(lab.store, "slow_agent_response", "gap_s", [5, 10, 15, 20, 30])  # doctest: +SKIP
    """
    if isinstance(criterion, str):
        found = [c for c in (criteria or load_criteria()) if c.name == criterion]
        if not found:
            raise CriteriaError("no such criterion", criterion=criterion)
        criterion = found[0]
    if param not in criterion.params:
        raise CriteriaError(f"has no param {param!r}", criterion=criterion.name)
    variants = [criterion.with_params(**{param: v}) for v in values]
    compiled = compile_criteria(store, variants)  # features checked (or built) once for all values
    rows = [{"value": float(v), **_scores(store, c.name, comp.where, comp.where_params, labels, ensure=False)}
            for v, (c, comp) in zip(values, compiled, strict=True)]
    frame = pl.DataFrame(rows).drop("criterion")
    return frame, _pr_figure(frame, criterion.name, param)


def _pr_figure(frame: pl.DataFrame, name: str, param: str) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(
        x=frame["recall"].to_list(), y=frame["precision"].to_list(), mode="lines+markers+text",
        text=[f"{param}={v:g}" for v in frame["value"]], textposition="top center",
    ))
    fig.update_layout(title=f"{name}: precision vs recall over {param}", xaxis_title="recall",
                      yaxis_title="precision", xaxis_range=[0, 1.05], yaxis_range=[0, 1.05])
    return fig
