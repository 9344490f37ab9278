"""Scoring single messages as they arrive: :func:`score_text` and :class:`StreamingScorer`."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from convolab.emotions.labels import polarity
from convolab.emotions.model import EmotionModel, load_model

__all__ = ["score_text", "StreamingScorer"]


def _result(model: EmotionModel, probs: np.ndarray) -> dict[str, Any]:
    scores = {label: float(p) for label, p in zip(model.labels, probs, strict=False)}
    above = [
        label for label, p, t in zip(model.labels, probs, model.thresholds, strict=False) if p >= t
    ]
    above.sort(key=scores.__getitem__, reverse=True)
    return {"scores": scores, "emotions": above, "polarity": polarity(scores)}


def score_text(text: str, *, model: str | EmotionModel | None = None) -> dict[str, Any]:
    """Emotions of one message.

    Parameters
    ----------
    text : str
        The message.
    model : str or EmotionModel, optional
        Model name for :func:`~convolab.emotions.model.load_model` (cached per
        process), or an already loaded model. ``None`` is the shipped default.

    Returns
    -------
    dict
        ``scores`` (label -> probability), ``emotions`` (labels at or above their
        threshold, highest score first) and ``polarity`` (positive, negative,
        ambiguous or neutral).

    Examples
    --------
    >>> score_text("Thank you so much, you've been really helpful!")["emotions"]
    ['gratitude']
    """
    m = model if isinstance(model, EmotionModel) else load_model(model)
    return _result(m, m.predict_proba([text])[0])


class StreamingScorer:
    """Keeps a model loaded and scores messages one at a time, recording latency.

    Parameters
    ----------
    model : str or EmotionModel, optional
        As for :func:`score_text`.
    window : int
        How many recent latencies :meth:`latency_ms` summarises.

    Examples
    --------
    >>> scorer = StreamingScorer()
    >>> scorer.score("Why is my bill so high again?!")["polarity"]
    'negative'
    >>> scorer.latency_ms()  # doctest: +SKIP
    {'p50': 6.1, 'p95': 9.8, 'n': 1}
    """

    def __init__(self, model: str | EmotionModel | None = None, *, window: int = 1000) -> None:
        self.model = model if isinstance(model, EmotionModel) else load_model(model)
        self._latencies: deque[float] = deque(maxlen=window)

    def score(self, text: str) -> dict[str, Any]:
        """Score one message (as in :func:`score_text`) and record how long it took."""
        started = time.perf_counter()
        result = _result(self.model, self.model.predict_proba([text])[0])
        self._latencies.append((time.perf_counter() - started) * 1000.0)
        return result

    def latency_ms(self) -> dict[str, float]:
        """Median and 95th-percentile latency in milliseconds of recent :meth:`score` calls."""
        if not self._latencies:
            return {"p50": float("nan"), "p95": float("nan"), "n": 0}
        values = np.fromiter(self._latencies, dtype=float)
        return {
            "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)),
            "n": int(values.size),
        }
