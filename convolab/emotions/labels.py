"""The GoEmotions label set and the paper's sentiment (polarity) grouping."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LABELS", "POLARITY_OF", "POLARITY_GROUPS", "polarity_of", "polarity"]

#: The 28 GoEmotions labels in id order (0 = admiration ... 27 = neutral).
LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring",
    "confusion", "curiosity", "desire", "disappointment", "disapproval", "disgust",
    "embarrassment", "excitement", "fear", "gratitude", "grief", "joy", "love",
    "nervousness", "optimism", "pride", "realization", "relief", "remorse",
    "sadness", "surprise", "neutral",
)  # fmt: skip

#: Demszky et al. (2020), section 3: emotions grouped by sentiment.
POLARITY_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": (
        "admiration", "amusement", "approval", "caring", "desire", "excitement",
        "gratitude", "joy", "love", "optimism", "pride", "relief",
    ),
    "negative": (
        "anger", "annoyance", "disappointment", "disapproval", "disgust",
        "embarrassment", "fear", "grief", "nervousness", "remorse", "sadness",
    ),
    "ambiguous": ("confusion", "curiosity", "realization", "surprise"),
    "neutral": ("neutral",),
}  # fmt: skip

POLARITY_OF: dict[str, str] = {
    label: group for group, labels in POLARITY_GROUPS.items() for label in labels
}


def polarity_of(label: str) -> str:
    """The sentiment group of one GoEmotions label.

    Parameters
    ----------
    label : str
        A GoEmotions label name.

    Returns
    -------
    str
        ``"positive"``, ``"negative"``, ``"ambiguous"`` or ``"neutral"``.
    """
    try:
        return POLARITY_OF[label]
    except KeyError:
        raise KeyError(f"{label!r} is not a GoEmotions label") from None


def polarity(scores: Mapping[str, float]) -> str:
    """The overall polarity of one message from its label probabilities.

    The group with the largest summed probability of its *emotion* labels wins;
    the message is ``"neutral"`` when ``neutral`` outscores every group's sum.
    Summing (rather than taking the top label) keeps a message that is mildly
    annoyed *and* disappointed negative even if ``neutral`` is its top label.

    Parameters
    ----------
    scores : Mapping[str, float]
        Label -> probability, as in ``score_text(...)["scores"]``.

    Returns
    -------
    str
        One of ``positive``, ``negative``, ``ambiguous``, ``neutral``.
    """
    sums = {
        group: sum(float(scores.get(label, 0.0)) for label in labels)
        for group, labels in POLARITY_GROUPS.items()
    }
    best = max(("positive", "negative", "ambiguous"), key=sums.__getitem__)
    return best if sums[best] >= sums["neutral"] else "neutral"
