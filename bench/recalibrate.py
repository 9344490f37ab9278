"""Recalibrate the built-in criteria on the tuning split of the real development sets.

Run this when the emotion model changes (its scores move, so the emotion
thresholds of ``frustrated_customer`` and ``sentiment_worsened`` must move with
them) or when exemplar phrases change. It only ever sees the *tuning* split:

1. writes ``tuning.jsonl``: every labelled conversation whose ``tags.split`` is
   ``tuning`` (TWCS threads by hash, MultiWOZ val, ABCD; MAIA is held out as a
   whole), plus, unless ``--no-bookings``, every other MultiWOZ val dialogue
   (tag ``channel=booking``);
2. runs the CLI as a user would: ``convolab ingest``, ``convolab score`` (the
   installed emotion model) and ``convolab calibrate --labels ground_truth``
   into ``calibrated.yml``, with the objectives the issue #11 bars ask for:
   ``frustrated_customer`` the highest recall at precision 0.85,
   ``sentiment_worsened`` at precision 0.8, the others the best F1 (their bar is
   precision and recall >= 0.8 each); and the booking dialogues as a guard
   (``--guard channel=booking --guard-share 0.015``: no threshold may flag more
   than 1.5% of cooperative booking dialogues, under the bar of 2% for
   frustrated *or* worsened together);
3. prints each criterion's cross-validated precision and recall (95% Wilson
   intervals) and the params that changed, and with ``--write-default`` writes
   those numbers into ``convolab/flags/default.yml`` in place (comments and
   exemplars untouched).

Then check the held-out split and the generator with ``bench/real_quality.py``
(never tune on what it prints for held-out).

    python bench/recalibrate.py [--source /work/realdata | --sets DIR] [--work DIR]
                                [--target NAME=P|f1 ...] [--no-bookings] [--reuse] [--write-default]

One command after the emotion model changes (builds the sets from the local
copies in ``--source`` when ``--sets`` is not given, re-scores with the
installed model, refits and writes the shipped defaults)::

    python bench/recalibrate.py --source /work/realdata --work /tmp/recal --write-default

``--reuse`` skips ingest and scoring when ``--work`` already holds a store scored
with the *current* model (exemplar changes only); never after a model change.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real_data"))
DEFAULT_YML = HERE.parent / "convolab" / "flags" / "default.yml"
SETS = ("twcs", "maia", "multiwoz", "abcd")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


#: The objective per criterion (a precision to reach with the highest recall, or f1).
TARGETS = ("frustrated_customer=0.85", "sentiment_worsened=0.8")


def tuning_records(sets: Path, *, bookings: bool) -> list[dict[str, Any]]:
    """Labelled tuning conversations, plus the other MultiWOZ tuning dialogues (the booking guard)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in SETS:
        for r in read_jsonl(sets / f"{name}.jsonl"):
            if r["tags"].get("split") == "tuning":
                out.append(r)
                seen.add(r["id"])
    if bookings:
        for r in read_jsonl(sets / "multiwoz-all.jsonl"):
            if r["tags"].get("split") == "tuning" and r["id"] not in seen:
                out.append(r)
    return out


def run(convolab: str, *args: str) -> str:
    t = time.perf_counter()
    done = subprocess.run([convolab, *args], capture_output=True, text=True, check=False)
    print(f"  convolab {args[0]}: {time.perf_counter() - t:.0f} s", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"error: convolab {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[:500]}")
    return done.stdout


def patch_default(text: str, changes: dict[str, dict[str, float]]) -> str:
    """default.yml with the given numeric params replaced, in each criterion's params only."""
    for criterion, params in changes.items():
        start = text.index(f"  - name: {criterion}\n")
        nxt = text.find("\n  - name: ", start + 1)
        end = len(text) if nxt < 0 else nxt
        block = text[start:end]
        tune_at = block.find("\n    tune:")
        head, tail = (block, "") if tune_at < 0 else (block[:tune_at], block[tune_at:])
        for name, value in params.items():
            head, n = re.subn(rf"(\b{re.escape(name)}:\s*)(-?[0-9]+(?:\.[0-9]+)?)", rf"\g<1>{value:g}", head, count=1)
            if n != 1:
                raise SystemExit(f"error: cannot find param {name} of {criterion} in {DEFAULT_YML}")
        text = text[:start] + head + tail + text[end:]
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, default=None,
                        help="sets built by bench/real_data/build.py (default: build them from --source)")
    parser.add_argument("--source", type=Path, default=Path("/work/realdata"),
                        help="local copies of the sources (used when --sets is not given)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the store and files (default: temp)")
    parser.add_argument("--target", action="append", default=None,
                        help=f"NAME=PRECISION or NAME=f1 (default: {' '.join(TARGETS)}; others f1)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-bookings", action="store_true", help="no booking guard (MultiWOZ val dialogues)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the store in --work from an earlier run (same data, same emotion model)")
    parser.add_argument("--write-default", action="store_true", help="write the fitted numbers into default.yml")
    parser.add_argument("--convolab", default=None, help="the convolab command (default: beside this Python)")
    args = parser.parse_args()
    convolab = args.convolab or str(Path(sys.executable).with_name("convolab"))
    if not Path(convolab).exists():
        convolab = shutil.which("convolab") or convolab
    work = args.work or Path(tempfile.mkdtemp(prefix="recalibrate-"))
    work.mkdir(parents=True, exist_ok=True)

    sets = args.sets
    if sets is None:
        from build import build  # bench/real_data/build.py

        sets = work / "sets"
        t = time.perf_counter()
        build(args.source, sets)
        print(f"  built the sets from {args.source} into {sets}: {time.perf_counter() - t:.0f} s", flush=True)
    records = tuning_records(sets, bookings=not args.no_bookings)
    source = work / "tuning.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    labelled = sum(1 for r in records if r.get("ground_truth"))
    print(f"tuning split: {len(records)} conversations ({labelled} with a positive label) -> {source}")
    store = work / "tuning.duckdb"
    if args.reuse and store.exists():
        print(f"  reusing {store} (ingested and scored by an earlier run)")
    else:
        for old in work.glob("tuning.duckdb*"):
            old.unlink()
        run(convolab, "ingest", str(source), "--db", str(store))
        run(convolab, "score", "--db", str(store))
    out = work / "calibrated.yml"
    targets = [a for t in (args.target or TARGETS) for a in ("--target", t)]
    guard = [] if args.no_bookings else ["--guard", "channel=booking", "--guard-share", "0.015"]
    report = json.loads(run(convolab, "calibrate", "--db", str(store), "--labels", "ground_truth", *targets,
                            *guard, "--folds", str(args.folds), "--out", str(out), "--json"))

    def num(v: float | None) -> str:
        return "  -  " if v is None else f"{v:.3f}"

    changes: dict[str, dict[str, float]] = {}
    print(f"\n{'criterion':<22} {'status':<15} {'pos.':>5}  {'CV P':>6} {'95% CI':>12}  {'CV R':>6} {'95% CI':>12}"
          f"  {'booking':>7}  params")
    for r in report["criteria"]:
        cv = r["cv"] or {}
        diff = {k: v for k, v in r["params"].items()
                if not isinstance(v, dict) and r["before"].get(k) != v and r["status"] == "calibrated"}
        if diff:
            changes[r["criterion"]] = diff
        ci = [("      -     " if c is None else f"[{c[0]:.2f}, {c[1]:.2f}]")
              for c in (cv.get("precision_ci"), cv.get("recall_ci"))]
        text = ", ".join(f"{k}={v:g} (was {r['before'][k]:g})" for k, v in diff.items()) or "unchanged"
        share = "   -   " if r.get("guard_share") is None else f"{r['guard_share']:7.3f}"
        print(f"{r['criterion']:<22} {r['status']:<15} {r['positives']:>5}  {num(cv.get('precision')):>6} {ci[0]}"
              f"  {num(cv.get('recall')):>6} {ci[1]}  {share}  {text}")
    print(f"\ncalibrated criteria: {out}")
    if args.write_default and changes:
        new = patch_default(DEFAULT_YML.read_text(encoding="utf-8"), changes)
        yaml.safe_load(new)
        DEFAULT_YML.write_text(new, encoding="utf-8")
        print(f"wrote the fitted numbers into {DEFAULT_YML}")
    elif changes:
        print("run again with --write-default to make them the shipped defaults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
