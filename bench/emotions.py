"""Benchmark: convolab batch emotion scoring vs a plain per-message pipeline.

    python bench/emotions.py --n 5000 [--f1]

The same N messages (GoEmotions dev texts: real human sentences of realistic
length; sampled with replacement when N exceeds the split) are scored, in one
run, by:

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

        def forward(self, input_ids: Any = None, attention_mask: Any = None, **_: Any) -> Any:
            return SequenceClassifierOutput(logits=self.net(input_ids, attention_mask))

    # Silence "The model 'Wrapped' is not supported for text-classification": it runs fine.
    transformers.utils.logging.set_verbosity(transformers.utils.logging.CRITICAL)
    return transformers.pipeline(
        "text-classification",
        model=Wrapped().eval(),
        tokenizer=fp32._tokenizer,
        top_k=None,
        device=-1,
        truncation=True,
        max_length=fp32._max_length,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="messages to score")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None, help="model folder or id (default: shipped)")
    parser.add_argument("--f1", action="store_true", help="also measure dev macro-F1 per precision")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    import numpy as np

    from convolab.emotions._base import set_threads
    from convolab.emotions.model import load_model

    set_threads()
    texts = _texts(args.n, args.seed)
    shipped = load_model(args.model)  # precision "auto"
    fp32 = load_model(args.model, precision="fp32")
    int8 = load_model(args.model, precision="int8")
    pipe = _pipeline(args.model, fp32)
    # Sanity: the pipeline really runs the same network (same probabilities).
    sample = texts[:8]
    by_pipe = np.array(
        [
            [d["score"] for d in sorted(out, key=lambda d: fp32.labels.index(d["label"]))]
            for out in pipe(sample)
        ]
    )
    assert np.allclose(by_pipe, fp32.predict_proba(sample), atol=1e-4), "pipeline != model"
    for m in (shipped, fp32, int8):
        m.predict_proba(texts[:256])  # warm up kernels and allocator
    out: dict[str, Any] = {"n": len(texts), "model_id": shipped.model_id}
    out["precision"] = shipped.precision

    def batch(m: Any) -> Any:
        return lambda: m.predict_proba(texts, batch_size=args.batch_size)

    def per_message() -> None:
        for text in texts:
            pipe(text)

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
    print(f"{out['n']} messages, model {out['model_id']} (shipped precision: {p})")
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
