"""Test doubles shared by the live-call tests (plumbing only; the real model has its own tests)."""

from __future__ import annotations


def keyword_scorer(text: str) -> dict:
    """Stands in for the emotion model where a test is about call plumbing, not emotions.

    "!" or "ridiculous" reads as anger (negative); anything else as neutral.
    """
    angry = "!" in text or "ridiculous" in text.lower()
    return {"emotions": ["anger"] if angry else ["neutral"], "polarity": "negative" if angry else "neutral"}
