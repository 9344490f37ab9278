"""Benchmark: batch emotion scoring vs one message at a time, and int8 vs fp32.

    python bench/emotions.py --n 5000

The same N customer-like messages (GoEmotions dev texts, sampled with
replacement when N exceeds the split) are scored:

1. convolab batch scoring (length-sorted, dynamic padding) with the shipped
   precision (int8 dynamic quantisation);
2. one message at a time through the same model (no sorting, no batching) —
   what a naive per-message loop, or a ``transformers.pipeline`` call per
   message, does;
3. batch scoring in fp32, plus dev macro-F1 for int8 and fp32 (``--f1``).

Prints messages/s and ratios. With ``--model`` a transformers model id or
folder is used instead, and (2) is ``transformers.pipeline(...)`` per message.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "goemotions" / "dev.tsv"


def _texts(n: int, seed: int) -> list[str]:
    from convolab.emotions.train import read_goemotions

    texts, _ = read_goemotions(DEV)
    rng = random.Random(seed)
    return texts[:n] if n <= len(texts) else [rng.choice(texts) for _ in range(n)]


def _rate(fn, n: int) -> tuple[float, float]:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    return n / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="messages to score")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None, help="model folder or id (default: shipped)")
    parser.add_argument("--f1", action="store_true", help="also measure dev macro-F1 int8 vs fp32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    from convolab.emotions._base import set_threads
    from convolab.emotions.model import load_model

    set_threads()
    texts = _texts(args.n, args.seed)
    # "int8" is the shipped precision path under test; fp32 is the reference.
    int8 = load_model(args.model, quantize=True)
    fp32 = load_model(args.model, quantize=False)
    int8.predict_proba(texts[:64])  # warm up kernels and allocator
    fp32.predict_proba(texts[:64])
    out: dict[str, object] = {"n": len(texts), "model_id": int8.model_id}

    out["batch_per_s"], out["batch_s"] = _rate(
        lambda: int8.predict_proba(texts, batch_size=args.batch_size), len(texts)
    )
    if args.model is None:

        def single() -> None:
            for text in texts:
                fp32.predict_proba([text])  # the shipped (fp32) model, one message at a time

    else:
        from transformers import pipeline

        pipe = pipeline("text-classification", model=args.model, top_k=None, device=-1)

        def single() -> None:
            for text in texts:
                pipe(text)

    out["single_per_s"], out["single_s"] = _rate(single, len(texts))
    out["fp32_batch_per_s"], out["fp32_batch_s"] = _rate(
        lambda: fp32.predict_proba(texts, batch_size=args.batch_size), len(texts)
    )
    out["batch_vs_single"] = out["fp32_batch_per_s"] / out["single_per_s"]
    out["int8_vs_fp32"] = out["batch_per_s"] / out["fp32_batch_per_s"]
    if args.f1:
        from convolab.emotions.evaluation import evaluate

        f_int8 = evaluate(DEV, model=int8)["macro_f1"]
        f_fp32 = evaluate(DEV, model=fp32)["macro_f1"]
        out.update(macro_f1_int8=f_int8, macro_f1_fp32=f_fp32, macro_f1_delta=f_int8 - f_fp32)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['n']} messages, model {out['model_id']}")
    print(f"  batch (int8):        {out['batch_per_s']:8.1f} msg/s  ({out['batch_s']:.1f} s)")
    print(f"  one at a time fp32:  {out['single_per_s']:8.1f} msg/s  ({out['single_s']:.1f} s)")
    print(
        f"  batch (fp32):        {out['fp32_batch_per_s']:8.1f} msg/s  ({out['fp32_batch_s']:.1f} s)"
    )
    print(f"  fp32 batch / one-at-a-time: {out['batch_vs_single']:.1f}x")
    print(f"  int8 / fp32 (batch):   {out['int8_vs_fp32']:.2f}x")
    if args.f1:
        print(
            f"  dev macro-F1 int8 {out['macro_f1_int8']:.4f}, fp32 {out['macro_f1_fp32']:.4f}"
            f" (delta {out['macro_f1_delta']:+.4f})"
        )


if __name__ == "__main__":
    main()
