"""Benchmark: what a dashboard click costs when a page opens the file store per action.

A file store has one writer, and a page kernel that kept the file open would
lock out every other page and CLI run, so the QA dashboard opens the file for
each action and closes it after (:class:`convolab.widgets.PageStore`). This
measures that choice against the baseline of a connection held open, in the
same run, on the same store:

- **click**: what the QA dashboard does for "Confirm": record the decision, reload
  the detail view (conversation + three exports), recount and reload the table page
  and the review queue.
- **browse**: a filter change (count + one table page), no write.
- **open+close**: the bare cost of ``convolab.open`` and ``close`` on the file.

Runs alternate (held, per-action, held, ...) after warm-up, medians of ``--repeat``.

Run: ``python bench/page_store.py [--conversations 20000] [--repeat 20]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import convolab
from convolab.flags import decide, run_flags
from convolab.generate import write_conversations
from convolab.widgets.page_store import PageStore

WARMUP = 3


def build(root: Path, n: int) -> Path:
    src = write_conversations(root / "sample.jsonl", n, seed=5)
    db = root / "bench.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
        run_flags(lab)
    return db


def click(lab: convolab.Workbench, flag: tuple[int, str], i: int) -> None:
    flag_id, cid = flag
    decide(lab, flag_id, "confirmed" if i % 2 else "dismissed", reviewer="bench")
    lab.conversation(cid)
    for fmt in ("txt", "json", "csv"):
        lab.export(cid, fmt)
    lab.count_conversations(flagged=True)
    lab.list_conversations(flagged=True, limit=50)
    lab.unreviewed_flags(limit=200)


def browse(lab: convolab.Workbench, _flag: tuple[int, str], i: int) -> None:
    status = ("failed", "completed", "abandoned")[i % 3]
    lab.count_conversations(status=status)
    lab.list_conversations(status=status, limit=50)


def timed(fn: Callable[..., None], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        db = build(Path(tmp), args.conversations)
        print(f"store: {args.conversations:,} conversations, {db.stat().st_size / 1e6:.1f} MB"
              f" (built in {time.perf_counter() - t0:.1f} s)")
        with convolab.open(db) as lab:
            flags = [tuple(r) for r in lab.execute(
                "SELECT flag_id, conversation_id FROM flags ORDER BY flag_id LIMIT 50").fetchall()]
        page = PageStore(db)
        rows = []
        for name, action in (("click", click), ("browse", browse)):
            held_ms: list[float] = []
            per_ms: list[float] = []
            held = convolab.open(db)
            try:
                for i in range(WARMUP + args.repeat):
                    flag = flags[i % len(flags)]
                    h = timed(action, held, flag, i)
                    held.close()  # the per-action run must be able to open the file
                    p = timed(_per_action, page, action, flag, i)
                    held = convolab.open(db)
                    if i >= WARMUP:
                        held_ms.append(h)
                        per_ms.append(p)
            finally:
                held.close()
            rows.append((name, statistics.median(held_ms), statistics.median(per_ms)))
        bare = []
        for _ in range(WARMUP + args.repeat):
            bare.append(timed(_open_close, db))
        print(f"{'action':<8} {'held open':>10} {'per action':>11} {'ratio':>6}")
        for name, h, p in rows:
            print(f"{name:<8} {h:>8.1f} ms {p:>8.1f} ms {p / h:>5.2f}x")
        print(f"open+close alone: {statistics.median(bare[WARMUP:]):.1f} ms (median of {args.repeat})")


def _open_close(db: Path) -> None:
    convolab.open(db).close()


def _per_action(page: PageStore, action: Callable[..., None], flag: tuple[int, str], i: int) -> None:
    with page.session() as lab:
        action(lab, flag, i)


if __name__ == "__main__":
    main()
