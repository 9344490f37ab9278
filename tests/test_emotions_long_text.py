"""Scoring a huge message tokenizes only what the model reads (issue #15: 38 s and 3.8 GB for 50 MB)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def model():
    from convolab.emotions import load_model

    return load_model()


def test_the_tokenizer_never_sees_more_than_the_model_can_read(model, monkeypatch):
    seen: list[int] = []
    tokenizer = model._tokenizer

    class Recording:
        """The real tokenizer, noting how long each text it is given is."""

        def __call__(self, texts, **kwargs):
            seen.extend(len(t) for t in texts)
            return tokenizer(texts, **kwargs)

        def __getattr__(self, name):
            return getattr(tokenizer, name)

    monkeypatch.setattr(model, "_tokenizer", Recording())
    huge = "Why is my bill so high again?! " * 200_000  # 6.2 MB
    probs = model.predict_proba([huge, "thanks", None])
    assert max(seen) <= 100 * model._max_length
    monkeypatch.setattr(model, "_tokenizer", tokenizer)
    np.testing.assert_allclose(probs[0], model.predict_proba([huge[:10_000]])[0], atol=1e-6)


def test_the_cut_keeps_every_token_the_model_reads(model):
    texts = ["word " * 5_000, "supercalifragilistic" * 300 + " ok", "émoji 😀 " * 2_000, "a\n" * 4_000]
    for text in texts:
        full = model._tokenizer([text], truncation=True, max_length=model._max_length)["input_ids"][0]
        cut = model._tokenizer([text[: 100 * model._max_length]], truncation=True,
                               max_length=model._max_length)["input_ids"][0]
        assert cut == full
