"""Ingest speed: convolab vs bare DuckDB read_json vs a naive Python loop, in one run.

Loads canonical JSONL holding ~1,000,000 messages three ways and prints times
and ratios (absolute times drift on shared machines; ratios are what to read):

* bare      ``CREATE TABLE t AS SELECT * FROM read_json(file)`` — DuckDB's reader with
            no validation, no normalisation, nested messages left as structs.
* convolab  ``lab.ingest(file)`` into a fresh store: validation, quarantine,
            normalised tables, upsert.       goal: <= 2.0x bare
* naive     ``json.loads`` per line + ``executemany`` into conversations/messages;
            run on a 1/--naive-fraction slice and scaled linearly (a full run takes
            many minutes).                   goal: convolab >= 10x faster

    python bench/ingest.py [--messages 1000000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

import convolab
from convolab.generate import generate_conversations


def write_sample(path: Path, messages: int, seed: int = 11) -> tuple[int, int]:
    """Write conversations until they hold ``messages`` messages; return (conversations, messages)."""
    n_conv = n_msg = 0
    with path.open("w") as fh:
        for record in generate_conversations(10**8, seed=seed):
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            n_conv += 1
            n_msg += len(record["messages"])
            if n_msg >= messages:
                break
    return n_conv, n_msg


def bare(path: Path, db: Path) -> float:
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format = 'newline_delimited')", [str(path)])
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def with_convolab(path: Path, db: Path) -> tuple[float, int]:
    lab = convolab.open(db)
    t = time.perf_counter()
    report = lab.ingest(path)
    elapsed = time.perf_counter() - t
    lab.close()
    return elapsed, report.loaded


def naive(path: Path, db: Path, fraction: int) -> tuple[float, int]:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE conversations (id VARCHAR, flow VARCHAR, platform VARCHAR, status VARCHAR,"
                " started_at VARCHAR, ended_at VARCHAR)")
    con.execute("CREATE TABLE messages (conversation_id VARCHAR, seq INTEGER, role VARCHAR, text VARCHAR, sent_at VARCHAR)")
    lines = path.read_text().splitlines()
    lines = lines[: max(1, len(lines) // fraction)]
    t = time.perf_counter()
    conv_rows, msg_rows = [], []
    for line in lines:
        r = json.loads(line)
        conv_rows.append((r["id"], r["flow"], r["platform"], r["status"], r["started_at"], r["ended_at"]))
        msg_rows.extend((r["id"], i, m["role"], m["text"], m["at"]) for i, m in enumerate(r["messages"]))
    con.executemany("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)", conv_rows)
    con.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?)", msg_rows)
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed, len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--naive-fraction", type=int, default=20, help="naive loop runs on 1/N of the file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "sample.jsonl"
        n_conv, n_msg = write_sample(src, args.messages)
        size_mb = src.stat().st_size / 1e6
        print(f"data: {n_conv:,} conversations, {n_msg:,} messages, {size_mb:.0f} MB canonical JSONL")
        t_bare = bare(src, tmp / "bare.duckdb")
        t_lab, loaded = with_convolab(src, tmp / "lab.duckdb")
        t_naive_part, naive_n = naive(src, tmp / "naive.duckdb", args.naive_fraction)
        t_naive = t_naive_part * n_conv / naive_n
        assert loaded == n_conv, (loaded, n_conv)
        print(f"bare read_json   {t_bare:8.2f} s")
        print(f"convolab ingest  {t_lab:8.2f} s   ({n_msg / t_lab:,.0f} messages/s)")
        print(f"naive loop       {t_naive:8.2f} s   (measured {t_naive_part:.2f} s on {naive_n:,} conversations, scaled)")
        print(f"ratio convolab / bare read_json : {t_lab / t_bare:5.2f}x   (goal <= 2.0x)")
        print(f"speed-up convolab vs naive loop : {t_naive / t_lab:5.1f}x   (goal >= 10x)")


if __name__ == "__main__":
    main()
