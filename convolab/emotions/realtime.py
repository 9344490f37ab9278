"""Scoring single messages as they arrive: :func:`score_text` and :class:`StreamingScorer`."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
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


def score_text(
    text: str, *, context: str | None = None, model: str | EmotionModel | None = None
) -> dict[str, Any]:
    """Emotions of one message, in its context.

    Parameters
    ----------
    text : str
        The message.
    context : str, optional
        The agent turn before it (``None``: the message is scored alone, as a
        conversation's first message is). "No." reads as a closing after "Is there
        anything else?" and as a failure after "Did that fix it?".
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
    return _result(m, m.predict_proba([text], [context])[0])


class StreamingScorer:
    """Keeps a model loaded and scores messages as they arrive, recording latency.

    Each message is scored in its context: pass the agent turn before it (live
    backends pass the call's latest agent message).

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

    #: Live backends pass ``context=`` to scorers that declare this.
    takes_context = True

    def __init__(self, model: str | EmotionModel | None = None, *, window: int = 1000) -> None:
        self.model = model if isinstance(model, EmotionModel) else load_model(model)
        self._latencies: deque[float] = deque(maxlen=window)

    def __call__(self, text: str, context: str | None = None) -> dict[str, Any]:
        return self.score(text, context)

    def score(self, text: str, context: str | None = None) -> dict[str, Any]:
        """Score one message (as in :func:`score_text`) and record how long it took."""
        return self.batch([text], [context])[0]

    def batch(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """Score messages that arrived together in one forward pass (latency recorded per batch).

        Parameters
        ----------
        texts : Sequence[str]
            The messages.
        contexts : Sequence[str or None], optional
            The agent turn before each message.
        """
        if not texts:
            return []
        started = time.perf_counter()
        probs = self.model.predict_proba(texts, contexts)
        results = [_result(self.model, p) for p in probs]
        self._latencies.append((time.perf_counter() - started) * 1000.0)
        return results

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
