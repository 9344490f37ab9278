"""Review-flag and sentiment quality on real customer-service conversations.

Builds the real development sets from local copies of the sources (or reuses built
ones), then runs convolab exactly as a user would, at the shipped defaults, through
its command line, into a fresh store per set::

    convolab ingest <set>-all.jsonl --db <set>.duckdb --json
    convolab score  --db <set>.duckdb
    convolab flag   --db <set>.duckdb --json
    convolab flags  --db <set>.duckdb --json --limit 100000000

and prints, against the labels in ``bench/real_data/labels.tsv`` and
``sentence_labels.tsv`` (how they were made: ``bench/real_data/LABELLING.md``):

- per criterion, precision, recall and F1 with 95% Wilson intervals and support, per
  set and pooled (all, tuning split, held-out split);
- cooperative booking dialogues (MultiWOZ): the share flagged ``frustrated_customer``
  or ``sentiment_worsened`` and the share of customer turns scored neutral;
- customer sentiment on labelled real sentences (each scored as a customer message
  after the agent turn before it): macro-F1 over negative / neutral / positive /
  ambiguous and negative recall, per source and pooled;
- social-media threads (TWCS): the share flagged ``slow_agent_response``;
- the issue #11 bars, each with its measured value;
- beside it, the generator's table from ``bench/flag_quality.py`` (run, not copied).

Criteria that convolab does not define (yet) are reported as "not defined".

    python bench/real_quality.py --source /work/realdata [--sets DIR] [--work DIR]
                                 [--no-generator] [--labelled-only] [--strict]

``--strict`` exits 1 when a bar is missed. Timings of every step are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real_data"))

from build import CRITERIA, SENTIMENTS, build  # noqa: E402

from convolab.flags.calibrate import wilson  # noqa: E402 - the same interval `convolab calibrate` prints

SETS: tuple[str, ...] = ("twcs", "maia", "multiwoz", "abcd")
SET_TITLES = {
    "twcs": "TWCS (Twitter support threads)",
    "maia": "MAIA-DQE (support chats)",
    "multiwoz": "MultiWOZ (cooperative booking)",
    "abcd": "ABCD (support chats, 3)",
}
LIMIT = 100_000_000

#: issue #11's bars: (name, value key, comparison, threshold).
BARS: tuple[tuple[str, str, str, float], ...] = (
    ("frustrated_customer recall (at precision >= 0.8)", "frustrated_customer.recall", ">=", 0.7),
    ("frustrated_customer precision", "frustrated_customer.precision", ">=", 0.8),
    ("asked_for_human precision", "asked_for_human.precision", ">=", 0.8),
    ("asked_for_human recall", "asked_for_human.recall", ">=", 0.8),
    ("legal_or_complaint precision", "legal_or_complaint.precision", ">=", 0.8),
    ("legal_or_complaint recall", "legal_or_complaint.recall", ">=", 0.8),
    ("churn_intent precision", "churn_intent.precision", ">=", 0.8),
    ("churn_intent recall", "churn_intent.recall", ">=", 0.8),
    ("sentiment_worsened precision", "sentiment_worsened.precision", ">=", 0.7),
    ("booking dialogues flagged frustrated/worsened", "booking.flagged_share", "<=", 0.02),
    ("booking customer turns neutral", "booking.neutral_share", ">=", 0.60),
    ("customer sentiment macro-F1", "sentiment.macro_f1", ">=", 0.6),
    ("customer sentiment negative recall", "sentiment.negative_recall", ">=", 0.6),
    ("social threads flagged slow_agent_response", "social.slow_share", "<=", 0.10),
)


# ----------------------------------------------------------------------------- statistics




def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall, F1 with Wilson intervals; None where undefined."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else (0.0 if precision is not None and recall is not None else None)
    )
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
        "flagged": tp + fp,
        "precision": precision,
        "precision_ci": wilson(tp, tp + fp),
        "recall": recall,
        "recall_ci": wilson(tp, tp + fn),
        "f1": f1,
    }


def macro_f1(gold: list[str], pred: list[str]) -> tuple[float | None, dict[str, dict[str, Any]]]:
    """Macro-F1 over the classes present in the gold labels, and per-class scores."""
    per = {}
    for cls in SENTIMENTS:
        tp = sum(g == cls and p == cls for g, p in zip(gold, pred, strict=True))
        fp = sum(g != cls and p == cls for g, p in zip(gold, pred, strict=True))
        fn = sum(g == cls and p != cls for g, p in zip(gold, pred, strict=True))
        per[cls] = prf(tp, fp, fn)
    present = [c for c in SENTIMENTS if per[c]["support"]]
    if not present:
        return None, per
    return sum(per[c]["f1"] or 0.0 for c in present) / len(present), per


# ----------------------------------------------------------------------------- running convolab


class Convolab:
    """Runs the ``convolab`` command line and records how long each call took."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.timings: list[tuple[str, float]] = []

    def __call__(self, *args: str, label: str) -> str:
        t = time.perf_counter()
        env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
        done = subprocess.run(
            [self.executable, *args], capture_output=True, text=True, env=env, check=False
        )
        self.timings.append((label, time.perf_counter() - t))
        if done.returncode != 0:
            raise SystemExit(
                f"error: `convolab {' '.join(args)}` exited {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[:500]}"
            )
        return done.stdout


def find_convolab(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("convolab")
    found = str(beside) if beside.exists() else shutil.which("convolab")
    if not found:
        raise SystemExit("error: no `convolab` command found; pass --convolab PATH")
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def customer_polarity(store: Path) -> dict[tuple[str, int], str]:
    """(conversation id, seq) -> polarity of each scored customer message, latest model.

    Read through the store's public ``sql`` (no raw connection); ``seq`` is the
    message's position in its conversation as ingest numbered it.
    """
    import convolab

    with convolab.open(store, read_only=True) as lab:
        model = lab.sql("SELECT model_id FROM emotion_runs ORDER BY finished_at DESC LIMIT 1")[
            "model_id"
        ].to_list()
        if not model:
            return {}
        frame = lab.sql(
            "SELECT conversation_id, seq, polarity FROM message_emotion_scores "
            "WHERE model_id = ? AND role = 'customer'",
            [model[0]],
        )
    return {(r["conversation_id"], r["seq"]): r["polarity"] for r in frame.iter_rows(named=True)}


def run_set(
    cli: Convolab, name: str, jsonl: Path, work: Path, *, flag: bool = True
) -> dict[str, Any]:
    """Ingest, score, flag and list flags for one set in a fresh store."""
    store = work / f"{name}.duckdb"
    for old in work.glob(f"{name}.duckdb*"):
        old.unlink()
    report = json.loads(
        cli("ingest", str(jsonl), "--db", str(store), "--json", label=f"{name}: ingest")
    )
    cli("score", "--db", str(store), label=f"{name}: score")
    defined: list[str] = []
    flags: list[dict[str, Any]] = []
    if flag:
        counts = json.loads(cli("flag", "--db", str(store), "--json", label=f"{name}: flag"))
        defined = list(counts["counts"])
        flags = json.loads(
            cli(
                "flags", "--db", str(store), "--json", "--limit", str(LIMIT), label=f"{name}: flags"
            )
        )
    return {"store": store, "ingest": report, "defined": defined, "flags": flags}


# ----------------------------------------------------------------------------- evaluation


def flagged_ids(flags: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in flags:
        out[f["criterion"]].add(f["conversation_id"])
    return out


def score_criteria(
    records: list[dict[str, Any]], flagged: dict[str, set[str]], defined: list[str]
) -> dict[str, dict[str, Any] | None]:
    """Per criterion over the labelled records: prf(...) or None when not defined."""
    out: dict[str, dict[str, Any] | None] = {}
    for crit in CRITERIA:
        if crit not in defined:
            out[crit] = None
            continue
        tp = fp = fn = 0
        for r in records:
            gold = crit in r["ground_truth"]
            pred = r["id"] in flagged.get(crit, set())
            tp += gold and pred
            fp += pred and not gold
            fn += gold and not pred
        out[crit] = prf(tp, fp, fn)
    return out


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "      -      " if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def criteria_table(title: str, n: int, scores: dict[str, dict[str, Any] | None]) -> str:
    lines = [
        f"{title}: {n} labelled conversations",
        f"  {'criterion':<22}{'support':>8}{'flagged':>8}  {'precision':>9} {'95% CI':>13}"
        f"  {'recall':>6} {'95% CI':>13}  {'F1':>5}",
    ]
    for crit, s in scores.items():
        if s is None:
            lines.append(f"  {crit:<22}{'not defined':>16}")
            continue
        lines.append(
            f"  {crit:<22}{s['support']:>8}{s['flagged']:>8}  {fmt(s['precision']):>9} "
            f"{fmt_ci(s['precision_ci']):>13}  {fmt(s['recall']):>6} {fmt_ci(s['recall_ci']):>13}"
            f"  {fmt(s['f1']):>5}"
        )
    return "\n".join(lines)


def sentiment_section(
    rows: list[dict[str, Any]], polarity: dict[tuple[str, int], str]
) -> tuple[str, dict[str, Any]]:
    """Sentence sentiment: macro-F1 and negative recall per source and pooled."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    missing = 0
    for r in rows:
        seq = 1 if r["previous_agent"] else 0  # the customer sentence follows its agent turn
        pred = polarity.get((r["id"], seq))
        if pred is None:
            missing += 1
            continue
        pair = (r["label"], pred)
        groups[r["source"]].append(pair)
        groups[
            "ours (twcs+multiwoz+abcd)" if r["source"] != "maia" else "maia (human labels)"
        ].append(pair)
        groups["pooled"].append(pair)
    lines = [
        f"  {'sentences':<28}{'n':>6}  {'macro-F1':>8}  {'neg. recall':>11} {'95% CI':>13}"
        f"  {'predicted neutral':>17}  gold counts"
    ]
    summary: dict[str, Any] = {}
    for name in (
        "twcs",
        "multiwoz",
        "abcd",
        "ours (twcs+multiwoz+abcd)",
        "maia (human labels)",
        "pooled",
    ):
        pairs = groups.get(name, [])
        if not pairs:
            continue
        gold = [g for g, _ in pairs]
        pred = [p for _, p in pairs]
        mf1, per = macro_f1(gold, pred)
        neg = per["negative"]
        counts = Counter(gold)
        lines.append(
            f"  {name:<28}{len(pairs):>6}  {fmt(mf1):>8}  {fmt(neg['recall']):>11} {fmt_ci(neg['recall_ci']):>13}"
            f"  {sum(p == 'neutral' for p in pred) / len(pred):>17.3f}  "
            + " ".join(f"{c[:3]}={counts.get(c, 0)}" for c in SENTIMENTS)
        )
        summary[name] = {"n": len(pairs), "macro_f1": mf1, "negative_recall": neg["recall"]}
    if missing:
        lines.append(f"  ({missing} sentences had no score and were left out)")
    return "\n".join(lines), summary


def bars_section(values: dict[str, float | None]) -> tuple[str, list[str]]:
    lines, missed = [], []
    for name, key, op, threshold in BARS:
        value = values.get(key)
        if value is None:
            status = "n/a (not defined)"
            missed.append(name)
        else:
            ok = value >= threshold if op == ">=" else value <= threshold
            status = "met" if ok else "MISSED"
            if not ok:
                missed.append(name)
        lines.append(f"  {name:<50} {fmt(value):>6}  bar {op} {threshold:<5} {status}")
    return "\n".join(lines), missed


def generator_table(skip: bool) -> str:
    if skip:
        return "generator table: skipped (--no-generator)"
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / "flag_quality.py")], capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - t
    return f"generator table (bench/flag_quality.py, {took:.0f} s, exit {done.returncode}):\n{done.stdout.rstrip()}"


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=Path("/work/realdata"), help="local copies of the sources"
    )
    parser.add_argument(
        "--sets", type=Path, default=None, help="already built sets (skip the build)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the built sets and stores (default: temp)",
    )
    parser.add_argument(
        "--convolab", default=None, help="the convolab command (default: beside this Python)"
    )
    parser.add_argument("--no-generator", action="store_true", help="skip bench/flag_quality.py")
    parser.add_argument(
        "--labelled-only",
        action="store_true",
        help="load only the labelled conversations (minutes faster; channel shares then cover only those)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar is missed")
    args = parser.parse_args()
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="real-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    cli = Convolab(find_convolab(args.convolab))

    sets_dir = args.sets
    if sets_dir is None:
        sets_dir = work / "sets"
        t = time.perf_counter()
        build(args.source, sets_dir)
        cli.timings.append(("build sets", time.perf_counter() - t))
    print(f"sets: {sets_dir}   stores: {work}")

    out: list[str] = []
    all_records: dict[str, list[dict[str, Any]]] = {}
    results: dict[str, dict[str, Any]] = {}
    suffix = "" if args.labelled_only else "-all"
    for name in SETS:
        records = read_jsonl(sets_dir / f"{name}{suffix}.jsonl")
        results[name] = run_set(cli, name, sets_dir / f"{name}{suffix}.jsonl", work)
        all_records[name] = records
        rejected = results[name]["ingest"].get("rejected", 0)
        if rejected:
            out.append(f"warning: {name}: {rejected} records rejected by ingest")
    defined = results["twcs"]["defined"]

    # Precision / recall per set and pooled, over labelled conversations only.
    out.append("\n== Review criteria on real labelled conversations (shipped defaults) ==")
    pooled: dict[str, list[dict[str, Any]]] = {"all": [], "tuning": [], "heldout": []}
    pooled_flags: dict[str, set[str]] = defaultdict(set)
    for name in SETS:
        labelled = [r for r in all_records[name] if "ground_truth" in r]
        flagged = flagged_ids(results[name]["flags"])
        for crit, ids in flagged.items():
            pooled_flags[crit] |= ids
        out.append(
            criteria_table(
                SET_TITLES[name], len(labelled), score_criteria(labelled, flagged, defined)
            )
        )
        pooled["all"] += labelled
        for r in labelled:
            pooled[r["tags"]["split"]].append(r)
    pooled_scores = {}
    for split, recs in pooled.items():
        pooled_scores[split] = score_criteria(recs, pooled_flags, defined)
        out.append(criteria_table(f"POOLED ({split})", len(recs), pooled_scores[split]))

    # Cooperative booking dialogues.
    mw = all_records["multiwoz"]
    mw_flags = flagged_ids(results["multiwoz"]["flags"])
    bad = mw_flags.get("frustrated_customer", set()) | mw_flags.get("sentiment_worsened", set())
    clean_labelled = [
        r
        for r in mw
        if "ground_truth" in r
        and not {"frustrated_customer", "sentiment_worsened"} & set(r["ground_truth"])
    ]
    mw_polarity = customer_polarity(results["multiwoz"]["store"])
    pol_counts = Counter(mw_polarity.values())
    neutral_share = pol_counts["neutral"] / sum(pol_counts.values()) if pol_counts else None
    flagged_share = len({r["id"] for r in mw} & bad) / len(mw)
    out.append("\n== Cooperative booking dialogues (MultiWOZ 2.1 val+test) ==")
    out.append(
        f"  flagged frustrated_customer or sentiment_worsened: {len({r['id'] for r in mw} & bad)} of {len(mw)}"
        f" dialogues = {flagged_share:.3f} {fmt_ci(wilson(len({r['id'] for r in mw} & bad), len(mw)))}"
        f"   (frustrated {len(mw_flags.get('frustrated_customer', set()))},"
        f" worsened {len(mw_flags.get('sentiment_worsened', set()))})"
    )
    out.append(
        f"  same, labelled dialogues judged neither frustrated nor worsened: "
        f"{len({r['id'] for r in clean_labelled} & bad)} of {len(clean_labelled)}"
    )
    total_turns = sum(pol_counts.values())
    out.append(
        f"  customer turns by polarity ({total_turns}): "
        + ", ".join(
            f"{p} {pol_counts[p] / total_turns:.3f}"
            for p in ("neutral", "positive", "negative", "ambiguous")
        )
        if total_turns
        else "  no customer turns scored"
    )

    # Social-media threads.
    tw = all_records["twcs"]
    tw_flags = flagged_ids(results["twcs"]["flags"])
    slow = len(tw_flags.get("slow_agent_response", set()) & {r["id"] for r in tw})
    slow_share = slow / len(tw) if "slow_agent_response" in defined else None
    out.append("\n== Social-media support threads (TWCS, real Twitter times) ==")
    out.append(
        f"  flagged slow_agent_response: {slow} of {len(tw)} threads = {fmt(slow_share)} {fmt_ci(wilson(slow, len(tw)))}"
    )

    # Sentence sentiment.
    rows = read_jsonl(sets_dir / "sentences.jsonl")
    sent = run_set(cli, "sentences", sets_dir / "sentences-conversations.jsonl", work, flag=False)
    text, sent_summary = sentiment_section(rows, customer_polarity(sent["store"]))
    out.append("\n== Customer sentence sentiment (each scored after its agent turn) ==")
    out.append(text)

    values: dict[str, float | None] = {
        "booking.flagged_share": flagged_share
        if {"frustrated_customer", "sentiment_worsened"} <= set(defined)
        else None,
        "booking.neutral_share": neutral_share,
        "sentiment.macro_f1": sent_summary.get("pooled", {}).get("macro_f1"),
        "sentiment.negative_recall": sent_summary.get("pooled", {}).get("negative_recall"),
        "social.slow_share": slow_share,
    }
    for crit, s in pooled_scores["all"].items():
        values[f"{crit}.precision"] = None if s is None else s["precision"]
        values[f"{crit}.recall"] = None if s is None else s["recall"]
    text, missed = bars_section(values)
    out.append(
        "\n== Issue #11 bars, measured here (pooled over all labelled sets; sentiment pooled) =="
    )
    out.append(text)
    print("\n".join(out))

    print("\n" + generator_table(args.no_generator))
    print("\n== Timings ==")
    for label, secs in cli.timings:
        print(f"  {label:<28} {secs:7.1f} s")
    print(f"  {'total':<28} {time.perf_counter() - started:7.1f} s")
    print(f"{len(missed)} of {len(BARS)} bars missed" if missed else "all bars met")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
