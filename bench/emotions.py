"""Benchmark: convolab batch emotion scoring vs a plain per-message pipeline.

    python bench/emotions.py --n 5000 [--f1]

The same N messages (GoEmotions dev texts: real human sentences of realistic
length; sampled with replacement when N exceeds the split) are scored, in one
run, each after an agent turn (drawn, seeded, from the agent turns of convolab's
service data: the shipped model reads the agent turn before a customer message;
``--no-context`` scores the messages alone), by:

1. **convolab batch** — ``EmotionModel.predict_proba`` at the shipped precision
   (``auto``: bf16 on CPUs with native bfloat16, else fp32), length-sorted
   batches with dynamic padding;
2. **pipeline per message** — a plain ``transformers.pipeline("text-classification")``
   over the *same* fp32 network (wrapped as a ``PreTrainedModel``), called once
   per message: what a notebook loop over messages does;
3. convolab batch in **fp32** and in **int8**, to separate what batching buys from
   what precision buys.

Prints messages/s and the ratios; ``--f1`` adds dev macro-F1 per precision so
the accuracy cost of each is visible next to its speed. With ``--model`` a
transformers model id or folder replaces the shipped model.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "goemotions" / "dev.tsv"


def _texts(n: int, seed: int) -> list[str]:
    from convolab.emotions.train import read_goemotions

    texts, _ = read_goemotions(DEV)
    rng = random.Random(seed)
    return texts[:n] if n <= len(texts) else [rng.choice(texts) for _ in range(n)]


def _contexts(n: int, seed: int) -> list[str]:
    """An agent turn before each message (convolab's own service data, seeded)."""
    from convolab.emotions.train import DIALOGUE, read_dialogue_tsv

    pool = sorted({c for c in read_dialogue_tsv(DIALOGUE).context if c})
    rng = random.Random(seed + 1)
    return [rng.choice(pool) for _ in range(n)]


def _rate(fn: Any, n: int) -> tuple[float, float]:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    return n / seconds, seconds


def _pipeline(model_name: str | None, fp32: Any) -> Any:
    """A plain text-classification pipeline over the same fp32 weights."""
    import transformers
    from transformers.modeling_outputs import SequenceClassifierOutput

    if model_name is not None:
        return transformers.pipeline("text-classification", model=model_name, top_k=None, device=-1)
    from convolab.emotions._base import base_model_dir
    from convolab.emotions.labels import LABELS

    config = transformers.AutoConfig.from_pretrained(str(base_model_dir()), local_files_only=True)
    config.id2label = dict(enumerate(LABELS))
    config.label2id = {label: i for i, label in enumerate(LABELS)}
    config.problem_type = "multi_label_classification"  # the pipeline applies a sigmoid

    class Wrapped(transformers.PreTrainedModel):
        config_class = type(config)

        def __init__(self) -> None:
            super().__init__(config)
            self.net = fp32.module

        def forward(
            self,
            input_ids: Any = None,
            attention_mask: Any = None,
            token_type_ids: Any = None,
            **_: Any,
        ) -> Any:
            types = token_type_ids if fp32.uses_context else None
            return SequenceClassifierOutput(logits=self.net(input_ids, attention_mask, types))

    # Silence "The model 'Wrapped' is not supported for text-classification": it runs fine.
    transformers.utils.logging.set_verbosity(transformers.utils.logging.CRITICAL)
    return transformers.pipeline(
        "text-classification",
        model=Wrapped().eval(),
        tokenizer=fp32._tokenizer,
        top_k=None,
        device=-1,
        truncation=True,
        max_length=fp32._max_length + fp32._max_context_length,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="messages to score")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None, help="model folder or id (default: shipped)")
    parser.add_argument("--f1", action="store_true", help="also measure dev macro-F1 per precision")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-context", action="store_true", help="score messages alone")
    args = parser.parse_args()

    import numpy as np

    from convolab.emotions._base import set_threads
    from convolab.emotions.model import load_model

    set_threads()
    texts = _texts(args.n, args.seed)
    shipped = load_model(args.model)  # precision "auto"
    fp32 = load_model(args.model, precision="fp32")
    int8 = load_model(args.model, precision="int8")
    context = fp32.uses_context and not args.no_context
    contexts = _contexts(len(texts), args.seed) if context else None
    pipe = _pipeline(args.model, fp32)

    def inputs(i: int) -> Any:
        # What a notebook loop would hand the pipeline: the message and its agent turn.
        return {"text": texts[i], "text_pair": contexts[i]} if contexts else texts[i]

    # Sanity: the pipeline really runs the same network (same probabilities) on inputs
    # short enough that neither side truncates.
    sample = [i for i in range(min(len(texts), 200)) if len(texts[i]) < 120][:8]
    by_pipe = np.array(
        [
            [d["score"] for d in sorted(pipe(inputs(i)), key=lambda d: fp32.labels.index(d["label"]))]
            for i in sample
        ]
    )
    by_model = fp32.predict_proba(
        [texts[i] for i in sample], [contexts[i] for i in sample] if contexts else None
    )
    assert np.allclose(by_pipe, by_model, atol=1e-4), "pipeline != model"
    for m in (shipped, fp32, int8):
        m.predict_proba(texts[:256], contexts[:256] if contexts else None)  # warm up
    out: dict[str, Any] = {"n": len(texts), "model_id": shipped.model_id, "context": context}
    out["precision"] = shipped.precision

    def batch(m: Any) -> Any:
        return lambda: m.predict_proba(texts, contexts, batch_size=args.batch_size)

    def per_message() -> None:
        for i in range(len(texts)):
            pipe(inputs(i))

    out["batch_per_s"], out["batch_s"] = _rate(batch(shipped), len(texts))
    out["pipeline_per_s"], out["pipeline_s"] = _rate(per_message, len(texts))
    out["fp32_batch_per_s"], out["fp32_batch_s"] = _rate(batch(fp32), len(texts))
    out["int8_batch_per_s"], out["int8_batch_s"] = _rate(batch(int8), len(texts))
    out["batch_vs_pipeline"] = out["batch_per_s"] / out["pipeline_per_s"]
    out["fp32_batch_vs_pipeline"] = out["fp32_batch_per_s"] / out["pipeline_per_s"]
    out["shipped_vs_fp32"] = out["batch_per_s"] / out["fp32_batch_per_s"]
    out["int8_vs_fp32"] = out["int8_batch_per_s"] / out["fp32_batch_per_s"]
    if args.f1:
        from convolab.emotions.evaluation import evaluate

        for name, m in (("fp32", fp32), ("shipped", shipped), ("int8", int8)):
            out[f"macro_f1_{name}"] = evaluate(DEV, model=m)["macro_f1"]
        out["macro_f1_delta_shipped"] = out["macro_f1_shipped"] - out["macro_f1_fp32"]
        out["macro_f1_delta_int8"] = out["macro_f1_int8"] - out["macro_f1_fp32"]
    if args.json:
        print(json.dumps(out))
        return
    p = out["precision"]
    where = "each after an agent turn" if out["context"] else "each alone"
    print(f"{out['n']} messages ({where}), model {out['model_id']} (shipped precision: {p})")
    print(f"  convolab batch ({p}):     {out['batch_per_s']:8.1f} msg/s  ({out['batch_s']:.1f} s)")
    print(
        f"  pipeline per message fp32: {out['pipeline_per_s']:8.1f} msg/s"
        f"  ({out['pipeline_s']:.1f} s)"
    )
    print(
        f"  convolab batch fp32:       {out['fp32_batch_per_s']:8.1f} msg/s"
        f"  ({out['fp32_batch_s']:.1f} s)"
    )
    print(
        f"  convolab batch int8:       {out['int8_batch_per_s']:8.1f} msg/s"
        f"  ({out['int8_batch_s']:.1f} s)"
    )
    print(f"  convolab batch / pipeline per message: {out['batch_vs_pipeline']:.1f}x  (goal >= 5x)")
    print(f"  fp32 batch / pipeline per message:     {out['fp32_batch_vs_pipeline']:.1f}x")
    print(
        f"  {p} / fp32 (batch): {out['shipped_vs_fp32']:.2f}x;  int8 / fp32: {out['int8_vs_fp32']:.2f}x"
    )
    if args.f1:
        print(
            f"  dev macro-F1: fp32 {out['macro_f1_fp32']:.4f}, {p} {out['macro_f1_shipped']:.4f}"
            f" ({out['macro_f1_delta_shipped']:+.4f}), int8 {out['macro_f1_int8']:.4f}"
            f" ({out['macro_f1_delta_int8']:+.4f}); tolerance 0.01"
        )


if __name__ == "__main__":
    main()
