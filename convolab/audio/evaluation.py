"""How close an analysis comes to a sample call's ground truth.

Events are matched one to one, greedily by time: a dead-air stretch matches when
the two overlap by at least half of their union (IoU >= 0.5); an agent reply when
the agent starts within 0.5 s of the true start; an interruption when the same side
starts within 0.5 s of the true start. Used by ``bench/audio.py`` and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["LATENCY_TOLERANCE_MS", "compare", "summarise"]

#: An agent latency is right when it is within this of the truth (the issue's bar).
LATENCY_TOLERANCE_MS = 150.0
_MATCH_S = 0.5


def _greedy(cost: np.ndarray, limit: float) -> list[tuple[int, int]]:
    """Pairs (i, j) with cost <= limit, cheapest first, each index used once."""
    pairs = []
    if cost.size == 0:
        return pairs
    order = np.argsort(cost, axis=None)
    used_i, used_j = set(), set()
    for flat in order:
        i, j = divmod(int(flat), cost.shape[1])
        if cost[i, j] > limit:
            break
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return pairs


def _intervals(events: Iterable[Mapping[str, Any]]) -> np.ndarray:
    return np.array([[e["start_s"], e["end_s"]] for e in events], dtype=float).reshape(-1, 2)


def _match_intervals(found: np.ndarray, truth: np.ndarray) -> int:
    if len(found) == 0 or len(truth) == 0:
        return 0
    inter = np.clip(np.minimum(found[:, None, 1], truth[None, :, 1])
                    - np.maximum(found[:, None, 0], truth[None, :, 0]), 0, None)
    union = np.maximum(found[:, None, 1], truth[None, :, 1]) - np.minimum(found[:, None, 0], truth[None, :, 0])
    iou = inter / np.maximum(union, 1e-9)
    return len(_greedy(1 - iou, 0.5))


def _match_times(found: np.ndarray, truth: np.ndarray) -> list[tuple[int, int]]:
    if len(found) == 0 or len(truth) == 0:
        return []
    return _greedy(np.abs(found[:, None] - truth[None, :]), _MATCH_S)


def compare(doc: Mapping[str, Any], truth: Mapping[str, Any]) -> dict[str, Any]:
    """Counts of matched, found and true events of one call (add them up with :func:`summarise`).

    ``doc`` is :func:`~convolab.audio.analyse_file`'s output, ``truth`` a sample call's
    ``.truth.json`` (or any dict with the same ``events``, ``talk_ratio``).
    """
    ev, tv = doc["events"], truth["events"]
    found_da, true_da = _intervals(ev["dead_air"]), _intervals(tv["dead_air"])
    out: dict[str, Any] = {
        "dead_air": {"matched": _match_intervals(found_da, true_da), "found": len(found_da), "true": len(true_da)},
    }
    fr = np.array([r["agent_start_s"] for r in ev["agent_replies"]], dtype=float)
    tr = np.array([r["agent_start_s"] for r in tv["agent_replies"]], dtype=float)
    pairs = _match_times(fr, tr)
    errors = [ev["agent_replies"][i]["latency_ms"] - tv["agent_replies"][j]["latency_ms"] for i, j in pairs]
    out["latency"] = {"matched": len(pairs), "found": len(fr), "true": len(tr), "errors_ms": errors}
    for side in ("agent", "customer"):
        fi = np.array([e["start_s"] for e in ev["interruptions"] if e["by"] == side], dtype=float)
        ti = np.array([e["start_s"] for e in tv["interruptions"] if e["by"] == side], dtype=float)
        out[f"interruptions_{side}"] = {"matched": len(_match_times(fi, ti)), "found": len(fi), "true": len(ti)}
    tr_true, tr_found = truth.get("talk_ratio"), doc.get("talk_ratio")
    out["talk_ratio_error"] = (abs(tr_found - tr_true) if tr_true is not None and tr_found is not None else None)
    return out


def _pr(matched: int, found: int, true: int) -> dict[str, Any]:
    return {"precision": matched / found if found else 1.0, "recall": matched / true if true else 1.0,
            "matched": matched, "found": found, "true": true}


def summarise(comparisons: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Precision/recall of each event kind and latency/talk-ratio errors over many calls."""
    comps = list(comparisons)
    out: dict[str, Any] = {}
    for kind in ("dead_air", "interruptions_agent", "interruptions_customer", "latency"):
        out[kind] = _pr(*(sum(c[kind][k] for c in comps) for k in ("matched", "found", "true")))
    errors = np.abs(np.array([e for c in comps for e in c["latency"]["errors_ms"]], dtype=float))
    out["latency"].update(
        within_150ms=float(np.mean(errors <= LATENCY_TOLERANCE_MS)) if errors.size else 1.0,
        mean_abs_error_ms=float(errors.mean()) if errors.size else 0.0,
        p95_abs_error_ms=float(np.percentile(errors, 95)) if errors.size else 0.0,
        max_abs_error_ms=float(errors.max()) if errors.size else 0.0)
    ratio = np.array([c["talk_ratio_error"] for c in comps if c["talk_ratio_error"] is not None], dtype=float)
    out["talk_ratio"] = {"max_abs_error": float(ratio.max()) if ratio.size else 0.0,
                         "mean_abs_error": float(ratio.mean()) if ratio.size else 0.0,
                         "within_0_05": float(np.mean(ratio <= 0.05)) if ratio.size else 1.0}
    return out
