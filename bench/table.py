"""Benchmark: fetch and render one 50-row page of the conversations table, filtered and sorted.

Synthesises stores of 10,000 and 1,000,000 conversations directly in DuckDB
(ingesting a million JSONL records would dominate the run), then times the
path the :class:`~convolab.widgets.ConversationTable` takes per page:
``list_conversations`` (filter + sort + page in DuckDB) and ``render_table``
(escaped HTML). Goal: the 1M page costs at most 1.5x the 10k page and stays
under 300 ms.

Run: ``python bench/table.py [--sizes 10000 1000000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import convolab
from convolab.store import ConversationFilter
from convolab.widgets._html import render_table

PAGE = 50
FILTER = ConversationFilter(status="failed", platform="phone")
SORT = "duration"


def synthesise(path: Path, n: int) -> None:
    """A store of ``n`` conversations with tags, one function call each and ~5% flagged."""
    with convolab.open(path) as lab:
        con = lab.con
        con.execute(
            """
            INSERT INTO conversations (id, flow, platform, contact, contact_id, status, started_at, ended_at,
                                       duration_s, summary, message_count, function_count, last_message,
                                       last_message_at, ingested_at)
            SELECT printf('c-%07d', i),
                   ['Utilities Inbound', 'Disgruntled Customer', 'Retail Orders', 'Healthcare Scheduling'][1 + i % 4],
                   CASE WHEN i % 3 = 0 THEN 'web' ELSE 'phone' END,
                   printf('+1555%07d', i), printf('cust-%d', i),
                   ['completed', 'completed', 'completed', 'abandoned', 'failed', 'transferred'][1 + (i * 7) % 6],
                   TIMESTAMP '2026-01-01' + to_seconds(i * 30),
                   TIMESTAMP '2026-01-01' + to_seconds(i * 30 + 60 + i % 600),
                   60 + (hash(i) % 600)::DOUBLE, 'summary', 6, 1,
                   'Thanks, that is all <b>for</b> today', TIMESTAMP '2026-01-01' + to_seconds(i * 30 + 50), now()
            FROM range(?) t(i)
            """,
            [n],
        )
        con.execute(
            """
            INSERT INTO tags SELECT printf('c-%07d', i), k, v FROM range(?) t(i),
                (VALUES ('call_reason', 'billing'), ('language', 'en')) kv(k, v)
            """,
            [n],
        )
        con.execute(
            """
            INSERT INTO function_calls (conversation_id, seq, name, arguments, output, status)
            SELECT printf('c-%07d', i), 0, 'lookup_account', '{}', '{}', 'ok' FROM range(?) t(i)
            """,
            [n],
        )
        con.execute(
            """
            INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)
            SELECT printf('c-%07d', i), 'negative_sentiment', 'high', 'upset', 'criteria', now()
            FROM range(?) t(i) WHERE i % 20 = 0
            """,
            [n],
        )
        con.execute("CHECKPOINT")


def time_page(path: Path, repeat: int) -> tuple[float, float, int]:
    """Median seconds for fetch+render, median for count, and bytes of the rendered page."""
    with convolab.open(path) as lab:
        page_times, count_times, size = [], [], 0
        for _ in range(repeat + 1):  # the first run warms DuckDB's caches and is discarded
            t0 = time.perf_counter()
            frame = lab.list_conversations(FILTER, sort=SORT, descending=True, limit=PAGE, offset=PAGE)
            html = render_table(frame.to_dicts(), sort=SORT, descending=True)
            t1 = time.perf_counter()
            lab.count_conversations(FILTER)
            t2 = time.perf_counter()
            page_times.append(t1 - t0)
            count_times.append(t2 - t1)
            size = len(html.encode())
            assert frame.height == PAGE
        return statistics.median(page_times[1:]), statistics.median(count_times[1:]), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"bench-{n}.duckdb"
            t0 = time.perf_counter()
            synthesise(path, n)
            build = time.perf_counter() - t0
            page, count, size = time_page(path, args.repeat)
            results[n] = page
            print(f"{n:>9,} conversations: page fetch+render {page * 1000:7.1f} ms, count {count * 1000:6.1f} ms, "
                  f"{size:,} bytes/page (store built in {build:.1f} s)")
    if len(results) >= 2:
        small, large = results[min(results)], results[max(results)]
        ratio = large / small
        ok = ratio <= 1.5 and large < 0.3
        print(f"ratio {max(results):,} / {min(results):,}: {ratio:.2f}x (goal <= 1.5x and < 300 ms): "
              f"{'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
