"""Emotions on real service turns, scored in context, without a store: a fast loop for tuning.

    python bench/service_emotions.py --sets /tmp/real-sets [--split tuning|heldout|all]
                                     [--model DIR] [--baseline DIR] [--no-context]

Reads the real development sets that ``bench/real_data/build.py`` writes and scores,
with :meth:`EmotionModel.predict_proba` directly (each customer turn after the agent
turn before it, as ``convolab score`` does):

- the labelled customer sentences (``sentences.jsonl``): polarity macro-F1 over
  negative / neutral / positive / ambiguous and negative recall, per source;
- cooperative booking dialogues (MultiWOZ customer turns): the share scored neutral;
- convolab's own held-out turns in context (``service_dialogue_heldout.tsv``):
  how many get the polarity a reader expects.

``--split tuning`` (the default) reads only the tuning split, which is what settings
may be chosen on; ``--split heldout`` is for reporting, never for choosing.
``--baseline`` scores a second model in the same run and prints both. The issue #11
numbers of record come from ``bench/real_quality.py``, which runs the CLI end to end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real_data"))

from build import SENTIMENTS  # noqa: E402


def _macro(gold: list[str], pred: list[str]) -> tuple[float, float | None]:
    """Macro-F1 over the classes present in gold, and negative recall."""
    f1s = []
    neg_recall = None
    for cls in SENTIMENTS:
        tp = sum(g == cls and p == cls for g, p in zip(gold, pred, strict=True))
        fp = sum(g != cls and p == cls for g, p in zip(gold, pred, strict=True))
        fn = sum(g == cls and p != cls for g, p in zip(gold, pred, strict=True))
        if tp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        if cls == "negative":
            neg_recall = recall
    return sum(f1s) / len(f1s), neg_recall


def _booking_turns(sets: Path, split: str, limit: int) -> tuple[list[str], list[str]]:
    texts, contexts = [], []
    with (sets / "multiwoz-all.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if split != "all" and record["tags"]["split"] != split:
                continue
            agent = ""
            for m in record["messages"]:
                if m["role"] == "customer" and m["text"].strip():
                    texts.append(m["text"])
                    contexts.append(agent)
                elif m["role"] in ("agent", "human_agent") and m["text"].strip():
                    agent = m["text"]
    step = max(1, len(texts) // limit) if limit else 1
    return texts[::step], contexts[::step]


def evaluate(model: Any, sets: Path, split: str, limit: int, context: bool) -> dict[str, Any]:
    from convolab.emotions.labels import LABELS, polarity
    from convolab.emotions.train import DIALOGUE_HELDOUT, read_dialogue_tsv

    def polarities(texts: list[str], contexts: list[str]) -> list[str]:
        probs = model.predict_proba(texts, contexts if context else None)
        return [polarity(dict(zip(LABELS, map(float, row), strict=True))) for row in probs]

    out: dict[str, Any] = {"model_id": model.model_id}
    rows = [
        json.loads(line) for line in (sets / "sentences.jsonl").read_text().splitlines() if line
    ]
    rows = [r for r in rows if split == "all" or r["split"] == split]
    pred = polarities([r["text"] for r in rows], [r["previous_agent"] for r in rows])
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r, p in zip(rows, pred, strict=True):
        groups[r["source"]].append((r["label"], p))
        groups["pooled"].append((r["label"], p))
    out["sentences"] = {}
    for name, pairs in sorted(groups.items()):
        gold = [g for g, _ in pairs]
        guess = [p for _, p in pairs]
        mf1, neg = _macro(gold, guess)
        out["sentences"][name] = {
            "n": len(pairs),
            "macro_f1": mf1,
            "negative_recall": neg,
            "predicted": dict(Counter(guess)),
            "gold": dict(Counter(gold)),
        }
    texts, contexts = _booking_turns(sets, split, limit)
    pred = polarities(texts, contexts)
    counts = Counter(pred)
    out["booking"] = {"turns": len(pred), **{k: counts[k] / len(pred) for k in SENTIMENTS}}
    held = read_dialogue_tsv(DIALOGUE_HELDOUT)
    pred = polarities(held.text, held.context)
    misses = [
        (c, t, e, p)
        for c, t, e, p in zip(held.context, held.text, held.polarity, pred, strict=True)
        if e and e != p
    ]
    out["own_heldout"] = {"n": len(held), "hits": len(held) - len(misses), "misses": misses}
    return out


def report(result: dict[str, Any], *, show_misses: bool) -> None:
    print(f"model {result['model_id']}")
    for name, s in result["sentences"].items():
        neg = "  -  " if s["negative_recall"] is None else f"{s['negative_recall']:.3f}"
        print(
            f"  sentences {name:<10} n={s['n']:<5} macro-F1 {s['macro_f1']:.3f}  neg. recall {neg}"
            f"  predicted {s['predicted']}"
        )
    b = result["booking"]
    print(
        f"  booking turns n={b['turns']}: neutral {b['neutral']:.3f}  positive {b['positive']:.3f}"
        f"  negative {b['negative']:.3f}  ambiguous {b['ambiguous']:.3f}"
    )
    h = result["own_heldout"]
    print(f"  convolab held-out turns in context: polarity {h['hits']}/{h['n']}")
    if show_misses:
        for context, text, expected, got in h["misses"]:
            print(f"    [{expected} -> {got}] {context[:50]!r} -> {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, required=True, help="built real sets")
    parser.add_argument("--split", choices=("tuning", "heldout", "all"), default="tuning")
    parser.add_argument("--model", default=None, help="model folder (default: shipped)")
    parser.add_argument("--baseline", default=None, help="a second model folder to compare")
    parser.add_argument("--limit", type=int, default=2000, help="booking turns to sample")
    parser.add_argument("--no-context", action="store_true", help="score turns alone")
    parser.add_argument("--misses", action="store_true", help="list own held-out misses")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from convolab.emotions.model import load_model

    results = []
    for name in [args.model] + ([args.baseline] if args.baseline else []):
        t = time.perf_counter()
        model = load_model(name, precision="fp32")
        result = evaluate(model, args.sets, args.split, args.limit, not args.no_context)
        result["seconds"] = round(time.perf_counter() - t, 1)
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"split: {args.split}   context: {not args.no_context}")
    for result in results:
        report(result, show_misses=args.misses)
        print(f"  ({result['seconds']} s)")


if __name__ == "__main__":
    main()
