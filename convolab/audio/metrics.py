"""Call metrics from speech segments: talk time, dead air, agent latency, interruptions.

Everything here works on segments, ``(k, 2)`` float arrays of ``[start_s, end_s]``
sorted by start, one array per channel. The same functions measure a recording
(segments from :mod:`convolab.audio.vad`) and build the ground truth of a sample call
(segments from the synthesis plan), so both use one definition of each metric:

- **dead air**: a stretch of at least ``dead_air_s`` where neither side speaks,
  anywhere in the recording (before the first word and after the last included);
- **agent latency**: for each customer turn the agent answers, the time from the
  customer's last speech to the agent's first. An agent segment answers a customer
  turn when the customer spoke after the agent's previous segment; if the customer
  is still speaking when the agent starts, it is an interruption (overlap of at least
  ``min_overlap_s``) and not a latency, or a small negative latency (shorter overlap);
- **interruption**: one side starts a segment while the other side is speaking, and
  both then speak together for at least ``min_overlap_s``; counted for the side that
  started;
- **overtalk**: total time both sides speak at once.

Each is vectorised over segments (searchsorted and cumulative maxima): no Python
loop per segment, let alone per audio frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MetricOptions",
    "agent_responses",
    "dead_air",
    "interruptions",
    "level_dbfs",
    "mono_metrics",
    "speech_rate_wpm",
    "talk_seconds",
    "timing_metrics",
    "union",
]

_EPS = 1e-9


@dataclass(frozen=True)
class MetricOptions:
    """Thresholds of the call metrics.

    Parameters
    ----------
    dead_air_s
        Shortest silence of both sides that counts as dead air (seconds).
    min_overlap_s
        Shortest overlap that makes starting to speak over the other side an interruption.
    """

    dead_air_s: float = 5.0
    min_overlap_s: float = 0.3


def _segments(segs: Any) -> np.ndarray:
    a = np.asarray(segs, dtype=np.float64).reshape(-1, 2)
    return a[np.argsort(a[:, 0], kind="stable")] if len(a) > 1 else a


def union(segs: Any) -> np.ndarray:
    """Merge overlapping or touching segments; the result is sorted and disjoint."""
    s = _segments(segs)
    if len(s) < 2:
        return s
    run_end = np.maximum.accumulate(s[:, 1])
    new = np.r_[True, s[1:, 0] > run_end[:-1]]
    first = np.flatnonzero(new)
    return np.column_stack([s[first, 0], np.maximum.reduceat(s[:, 1], first)])


def talk_seconds(segs: Any) -> float:
    """Seconds covered by the segments (overlaps counted once)."""
    u = union(segs)
    return float(np.sum(u[:, 1] - u[:, 0])) if len(u) else 0.0


def dead_air(segments: Iterable[Any], duration_s: float, threshold_s: float) -> np.ndarray:
    """Silences of every channel together lasting at least ``threshold_s``, as ``(k, 2)``."""
    parts = [_segments(s) for s in segments]
    u = union(np.concatenate(parts) if parts else np.empty((0, 2)))
    u = u[(u[:, 1] > 0) & (u[:, 0] < duration_s)]
    starts = np.r_[0.0, np.clip(u[:, 1], 0, duration_s)]
    ends = np.r_[np.clip(u[:, 0], 0, duration_s), duration_s]
    keep = ends - starts >= threshold_s - _EPS
    return np.column_stack([starts[keep], ends[keep]])


def _speaking_until(other: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each time in ``at``: the latest end among ``other``'s segments that started
    strictly before it (-inf when none did)."""
    if len(other) == 0:
        return np.full(len(at), -np.inf)
    run_end = np.maximum.accumulate(other[:, 1])
    idx = np.searchsorted(other[:, 0], at, side="left") - 1
    return np.where(idx >= 0, run_end[np.clip(idx, 0, None)], -np.inf)


def interruptions(by: Any, other: Any, min_overlap_s: float) -> np.ndarray:
    """Segments of ``by`` that start while ``other`` speaks and overlap it for at least
    ``min_overlap_s``, as ``(k, 2)`` rows of ``[start_s, overlap_s]``."""
    x, y = _segments(by), _segments(other)
    if len(x) == 0 or len(y) == 0:
        return np.empty((0, 2))
    until = _speaking_until(y, x[:, 0])
    overlap = np.minimum(until, x[:, 1]) - x[:, 0]
    hit = overlap >= min_overlap_s - _EPS
    return np.column_stack([x[hit, 0], overlap[hit]])


def agent_responses(customer: Any, agent: Any, min_overlap_s: float) -> np.ndarray:
    """Agent replies to customer turns, as ``(k, 3)`` rows of
    ``[customer_end_s, agent_start_s, latency_s]`` (latency may be slightly negative when
    the agent starts less than ``min_overlap_s`` before the customer stops; replies that
    interrupt the customer are left out: they are interruptions)."""
    c, a = _segments(customer), _segments(agent)
    if len(c) == 0 or len(a) == 0:
        return np.empty((0, 3))
    last_customer_end = _speaking_until(c, a[:, 0])
    prev_agent_end = np.r_[-np.inf, np.maximum.accumulate(a[:-1, 1])]
    answers = np.isfinite(last_customer_end) & (last_customer_end > prev_agent_end)
    overlap = np.minimum(last_customer_end, a[:, 1]) - a[:, 0]
    answers &= overlap < min_overlap_s - _EPS
    return np.column_stack([last_customer_end[answers], a[answers, 0],
                            a[answers, 0] - last_customer_end[answers]])


def _overtalk(c: np.ndarray, a: np.ndarray) -> float:
    # |C ∩ A| = |C| + |A| - |C ∪ A|
    both = np.concatenate([c, a]) if len(c) and len(a) else np.empty((0, 2))
    return max(0.0, talk_seconds(c) + talk_seconds(a) - talk_seconds(both)) if len(both) else 0.0


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def _dead_air_doc(silences: np.ndarray) -> dict[str, Any]:
    lengths = silences[:, 1] - silences[:, 0]
    return {"count": int(len(silences)), "total_s": _r(lengths.sum()),
            "longest_s": _r(lengths.max()) if len(lengths) else 0.0}


def timing_metrics(customer: Any, agent: Any, duration_s: float,
                   options: MetricOptions = MetricOptions()) -> dict[str, Any]:
    """The timing metrics of a two-channel call, with the events behind them.

    Returns
    -------
    dict
        ``talk_s`` {customer, agent}, ``talk_ratio`` (the agent's share of all talk,
        0-1, None when nobody spoke), ``talk_share`` {customer, agent} (both shares, so
        nobody has to guess which side the ratio is of), ``dead_air`` {count, total_s, longest_s},
        ``agent_latency_ms`` {p50, p95, max, n}, ``interruptions`` {agent, customer},
        ``overtalk_s``, and ``events``: the dead-air stretches, agent replies and
        interruptions the figures come from.
    """
    c, a = union(customer), union(agent)
    talk_c, talk_a = talk_seconds(c), talk_seconds(a)
    silences = dead_air([c, a], duration_s, options.dead_air_s)
    replies = agent_responses(c, a, options.min_overlap_s)
    by_agent = interruptions(a, c, options.min_overlap_s)
    by_customer = interruptions(c, a, options.min_overlap_s)
    lat_ms = replies[:, 2] * 1000.0
    latency = {"p50": None, "p95": None, "max": None, "n": int(len(lat_ms))}
    if len(lat_ms):
        p50, p95 = np.percentile(lat_ms, [50, 95])
        latency.update(p50=round(float(p50)), p95=round(float(p95)), max=round(float(lat_ms.max())))
    events = {
        "dead_air": [{"start_s": _r(s), "end_s": _r(e)} for s, e in silences],
        "agent_replies": [{"customer_end_s": _r(ce), "agent_start_s": _r(st), "latency_ms": round(lat * 1000)}
                          for ce, st, lat in replies],
        "interruptions": sorted(
            [{"by": "agent", "start_s": _r(s), "overlap_s": _r(o)} for s, o in by_agent]
            + [{"by": "customer", "start_s": _r(s), "overlap_s": _r(o)} for s, o in by_customer],
            key=lambda e: e["start_s"]),
    }
    return {
        "talk_s": {"customer": _r(talk_c), "agent": _r(talk_a)},
        "talk_ratio": _r(talk_a / (talk_a + talk_c), 4) if talk_a + talk_c > 0 else None,
        "talk_share": ({"customer": _r(talk_c / (talk_a + talk_c), 4), "agent": _r(talk_a / (talk_a + talk_c), 4)}
                       if talk_a + talk_c > 0 else None),
        "dead_air": _dead_air_doc(silences),
        "agent_latency_ms": latency,
        "interruptions": {"agent": int(len(by_agent)), "customer": int(len(by_customer))},
        "overtalk_s": _r(_overtalk(c, a)),
        "events": events,
    }


def mono_metrics(speech: Any, duration_s: float, options: MetricOptions = MetricOptions()) -> dict[str, Any]:
    """What a mono recording can tell: dead air only (speakers cannot be told apart);
    the per-speaker figures are None."""
    silences = dead_air([union(speech)], duration_s, options.dead_air_s)
    return {
        "talk_s": None, "talk_ratio": None, "talk_share": None, "dead_air": _dead_air_doc(silences),
        "agent_latency_ms": None, "interruptions": None, "overtalk_s": None,
        "events": {"dead_air": [{"start_s": _r(s), "end_s": _r(e)} for s, e in silences],
                   "agent_replies": [], "interruptions": []},
    }


def level_dbfs(x: np.ndarray, sample_rate: int, segs: Any | None = None) -> dict[str, float | None]:
    """Loudness of a signal in dBFS: ``mean`` (RMS over the speech segments, or the whole
    signal when none are given; None when there is no speech) and ``peak`` (largest sample)."""
    x = np.asarray(x, dtype=np.float32)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if segs is None:
        energy, count = float(np.dot(x, x)), x.size
    else:
        s = union(segs)
        idx = np.clip(np.round(s * sample_rate).astype(np.int64), 0, x.size)
        csum = np.r_[0.0, np.cumsum(x.astype(np.float64) ** 2)]
        energy = float(np.sum(csum[idx[:, 1]] - csum[idx[:, 0]]))
        count = int(np.sum(idx[:, 1] - idx[:, 0]))
    mean = 10 * np.log10(energy / count) if count and energy > 0 else None
    return {"mean": _r(mean, 1), "peak": _r(20 * np.log10(peak), 1) if peak > 0 else None}


_WORD = re.compile(r"[\w']+")


def speech_rate_wpm(messages: Iterable[Mapping[str, Any]], talk_s: Mapping[str, float | None]) -> dict[str, float | None]:
    """Words per minute per side: the transcript's words over the measured talk time.

    ``messages`` are transcript rows with ``role`` and ``text``; human agents count as
    the agent side (they share its channel).
    """
    words = {"customer": 0, "agent": 0}
    for m in messages:
        side = {"customer": "customer", "agent": "agent", "human_agent": "agent"}.get(m.get("role") or "")
        if side:
            words[side] += len(_WORD.findall(m.get("text") or ""))
    rate: dict[str, float | None] = {}
    for side, n in words.items():
        t = talk_s.get(side)
        rate[side] = round(n / (t / 60.0), 1) if t and n else None
    return rate
