"""Review-flag quality against the generator's ground truth, end to end.

Generates ``--conversations`` (default 5,000) sample conversations with
``--seed`` (default 7), the first ``--audio-calls`` (default 600) phone calls
spoken into recordings with espeak-ng, ingests them, analyses the recordings
(``convolab audio --db``), scores customer emotions with the shipped model
(``--model`` for another), raises flags with the built-in criteria and prints
precision, recall, F1 and support per criterion against the planted
``ground_truth``. The bars (issues #4 and #13): every criterion fires on some
conversations and not on most, recall >= 0.9 and precision >= 0.8; the script
exits 1 if one is missed. ``--audio-calls 0`` skips audio (and its criteria).

    python bench/flag_quality.py [--conversations 5000] [--seed 7] [--audio-calls 600] [--keep DIR]

The same table for any store: ``convolab eval-flags --db DB``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import convolab
from convolab.audio import analyse_store, set_recordings_root
from convolab.emotions import score_store
from convolab.flags import evaluate_flags, run_flags
from convolab.flags.tuning import quality_table
from convolab.generate import write_conversations

MIN_RECALL, MIN_PRECISION = 0.9, 0.8
#: Criteria measured on call recordings: only judged when recordings were made.
AUDIO_CRITERIA = ("dead_air", "agent_interrupts_customer", "slow_agent_latency")


def misses(frame, conversations: int) -> list[str]:  # noqa: ANN001 (polars frame)
    """Criteria that miss a bar, with why."""
    out = []
    for r in frame.iter_rows(named=True):
        if not 0 < r["flagged"] < conversations / 2:
            out.append(f"{r['criterion']}: fires on {r['flagged']} of {conversations}")
        if (r["recall"] or 0) < MIN_RECALL:
            out.append(f"{r['criterion']}: recall {r['recall']} < {MIN_RECALL}")
        if (r["precision"] or 0) < MIN_PRECISION:
            out.append(f"{r['criterion']}: precision {r['precision']} < {MIN_PRECISION}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=None, help="emotion model folder or id (default: shipped)")
    parser.add_argument("--audio-calls", type=int, default=600,
                        help="phone calls spoken into recordings and analysed (0: none, audio criteria skipped)")
    parser.add_argument("--keep", type=Path, default=None, help="write the JSONL, recordings and store here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)

    audio = work / "audio" if args.audio_calls else None
    t = time.perf_counter()
    source = write_conversations(work / "sample.jsonl", args.conversations, seed=args.seed, audio=audio,
                                 audio_calls=args.audio_calls or None)
    print(f"generated {args.conversations:,} conversations"
          + (f" and {args.audio_calls:,} call recordings" if audio else "") + f" in {time.perf_counter() - t:.1f} s")
    with convolab.open(work / "quality.duckdb") as lab:
        lab.ingest(source)
        if audio is not None:
            set_recordings_root(lab, audio)
            t = time.perf_counter()
            result = analyse_store(lab)
            print(f"analysed {result['analysed']:,} recordings ({result['failed']} failed)"
                  f" in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        scored = score_store(lab, model=args.model)
        print(f"scored {scored['scored']:,} distinct customer texts with {scored['model_id']}"
              f" in {time.perf_counter() - t:.1f} s")
        counts = run_flags(lab)
        print(f"flags raised: {sum(counts.values()):,}")
        frame = evaluate_flags(lab)
    if audio is None:
        frame = frame.filter(~frame["criterion"].is_in(AUDIO_CRITERIA))
    print(quality_table(frame, conversations=args.conversations, labels="ground_truth"))
    print(f"generated with: convolab generate --conversations {args.conversations} --seed {args.seed}"
          + (f" --audio DIR --audio-calls {args.audio_calls}; convolab audio --db DB --recordings DIR" if audio else ""))
    problems = misses(frame, args.conversations)
    for p in problems:
        print(f"MISSED: {p}")
    print("all criteria meet recall >= 0.9 and precision >= 0.8" if not problems else "bars missed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
