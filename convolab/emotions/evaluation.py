"""Scoring an emotion model against a GoEmotions-format TSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convolab.emotions.labels import LABELS
from convolab.emotions.model import EmotionModel, load_model
from convolab.emotions.train import f1_scores, read_goemotions

__all__ = ["evaluate"]


def evaluate(
    tsv_path: Path | str,
    *,
    model: str | EmotionModel | None = None,
    limit: int | None = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Macro-F1, micro-F1 and per-label F1 of a model on a GoEmotions TSV.

    Decisions use the model's own thresholds (tuned on dev for the default
    model, so dev scores are optimistic).

    Parameters
    ----------
    tsv_path : Path or str
        ``text<TAB>label ids<TAB>comment id`` lines, as in GoEmotions.
    model : str or EmotionModel, optional
        As for :func:`~convolab.emotions.model.load_model`; ``None`` is the default.
    limit : int, optional
        Only the first ``limit`` lines.

    Returns
    -------
    dict
        ``macro_f1``, ``micro_f1``, ``per_label`` (label -> F1), ``n``, ``model_id``.
    """
    path = Path(tsv_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    texts, y = read_goemotions(path)
    if limit is not None:
        texts, y = texts[:limit], y[:limit]
    m = model if isinstance(model, EmotionModel) else load_model(model)
    pred = m.predict_proba(texts, batch_size=batch_size) >= m.thresholds
    macro, micro, per_label = f1_scores(y, pred)
    return {
        "macro_f1": macro,
        "micro_f1": micro,
        "per_label": dict(zip(LABELS, map(float, per_label), strict=False)),
        "n": len(texts),
        "model_id": m.model_id,
    }
