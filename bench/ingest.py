"""Ingest speed: convolab vs bare DuckDB read_json vs a naive Python loop, in one run.

Loads one canonical JSONL file holding ~1,000,000 messages (written by convolab's
generator) three ways and prints times and ratios. Absolute times drift on shared
machines; the ratios are what to read. Every contender reads the same file, after
one untimed read has put it in the page cache.

* bare      ``CREATE TABLE t AS SELECT * FROM read_json(file, format = 'newline_delimited')``
            into a fresh database file: DuckDB's own parallel reader, every field,
            nested (messages, functions, tags... as lists and structs), no
            validation, no line numbers, no normalisation.
* convolab  ``lab.ingest(file)`` into a fresh store: validation with file:line
            quarantine, normalised tables, content hashes, upsert.   goal: <= 2.0x bare
* naive     ``json.loads`` per line + ``executemany`` into conversations/messages;
            run on a 1/--naive-fraction slice and scaled linearly (a full run
            takes many minutes).                                    goal: convolab >= 10x faster

bare and convolab run --repeat times each, alternately, each into a new database
file; a time runs from the call until the database is closed (so work a
checkpoint would do later is counted). The ratio is of the medians.

--gzip also loads the same data gzip-compressed: bare ``read_json`` of the .gz
against ``lab.ingest`` of it, which first checks the whole gzip stream (CRC-32 and
length, as ``gzip -t``; DuckDB's reader checks neither), and that check alone.

``--backend`` picks the stores convolab loads into: ``file`` (a DuckDB file, goal above)
and ``lake-sqlite`` (a team store: DuckLake, SQLite catalog, Parquet files; goal <= 2.5x
bare). Both by default; bare is the same DuckDB-file baseline for both.

    python bench/ingest.py [--messages 1000000] [--repeat 3] [--backend file lake-sqlite] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
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


def warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def bare(path: Path, db: Path) -> tuple[float, int, int]:
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format = 'newline_delimited')", [str(path)])
    con.close()
    elapsed = time.perf_counter() - t
    con = duckdb.connect(str(db), read_only=True)
    rows, messages = con.execute("SELECT count(*), sum(len(messages)) FROM t").fetchone()
    con.close()
    return elapsed, rows, messages


def with_convolab(path: Path, db: Path | str) -> tuple[float, int, int]:
    lab = convolab.open(db)
    t = time.perf_counter()
    report = lab.ingest(path)
    lab.close()
    elapsed = time.perf_counter() - t
    with convolab.open(db) as lab:
        messages = lab.sql("SELECT count(*) AS n FROM messages").item()
    assert report.rejected == 0, report.reasons()
    return elapsed, report.loaded, messages


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
    parser.add_argument("--repeat", type=int, default=3, help="runs of bare and of convolab (alternating)")
    parser.add_argument("--naive-fraction", type=int, default=20, help="naive loop runs on 1/N of the file")
    parser.add_argument("--gzip", action="store_true", help="also compare loading the .gz of the same data")
    parser.add_argument("--backend", nargs="+", default=["file", "lake-sqlite"], choices=["file", "lake-sqlite"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "sample.jsonl"
        n_conv, n_msg = write_sample(src, args.messages)
        size_mb = src.stat().st_size / 1e6
        threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
        print(f"data: {n_conv:,} conversations, {n_msg:,} messages, {size_mb:.0f} MB canonical JSONL")
        print(f"duckdb {duckdb.__version__}, {threads} threads, {os.cpu_count()} CPUs,"
              f" load average {os.getloadavg()[0]:.2f} at start")
        warm(src)
        t_bare = []
        t_lab: dict[str, list[float]] = {b: [] for b in args.backend}
        for i in range(args.repeat):
            elapsed, rows, messages = bare(src, tmp / f"bare{i}.duckdb")
            assert (rows, messages) == (n_conv, n_msg), (rows, messages)
            t_bare.append(elapsed)
            for backend in args.backend:
                store = tmp / f"lab{i}.duckdb" if backend == "file" else f"ducklake:sqlite:{tmp}/lake{i}.sqlite"
                if backend != "file":
                    convolab.open(store).close()  # created (extensions loaded) before the clock starts, as a file is
                elapsed, loaded, messages = with_convolab(src, store)
                assert (loaded, messages) == (n_conv, n_msg), (loaded, messages)
                t_lab[backend].append(elapsed)
        t_naive_part, naive_n = naive(src, tmp / "naive.duckdb", args.naive_fraction)
        t_naive = t_naive_part * n_conv / naive_n
        bare_s = statistics.median(t_bare)

        def runs(ts: list[float]) -> str:
            return ", ".join(f"{t:.2f}" for t in ts)

        print(f"bare read_json   {bare_s:8.2f} s   median of {args.repeat}: {runs(t_bare)}")
        for backend, times in t_lab.items():
            lab_s = statistics.median(times)
            goal = 2.0 if backend == "file" else 2.5
            print(f"convolab ingest [{backend}] {lab_s:8.2f} s   median of {args.repeat}: {runs(times)}"
                  f"   ({n_msg / lab_s:,.0f} messages/s)")
            print(f"ratio convolab [{backend}] / bare read_json : {lab_s / bare_s:5.2f}x   (goal <= {goal}x)")
        print(f"naive loop       {t_naive:8.2f} s   (measured {t_naive_part:.2f} s on {naive_n:,} conversations, scaled)")
        fastest = min(statistics.median(times) for times in t_lab.values())
        print(f"speed-up convolab vs naive loop : {t_naive / fastest:5.1f}x   (goal >= 10x)")
        if args.gzip:
            compressed(src, tmp, args.repeat, n_conv, n_msg)


def compressed(src: Path, tmp: Path, repeat: int, n_conv: int, n_msg: int) -> None:
    """The same data as .gz: bare read_json vs convolab (which verifies the stream first)."""
    from convolab.ingest.sources import verify_gzip

    gz = tmp / "sample.jsonl.gz"
    with src.open("rb") as fh, gzip.open(gz, "wb", compresslevel=6) as out:
        shutil.copyfileobj(fh, out, 1 << 24)
    warm(gz)
    t_bare, t_lab, t_check = [], [], []
    for i in range(repeat):
        elapsed, rows, _ = bare(gz, tmp / f"gz-bare{i}.duckdb")
        assert rows == n_conv
        t_bare.append(elapsed)
        elapsed, loaded, messages = with_convolab(gz, tmp / f"gz-lab{i}.duckdb")
        assert (loaded, messages) == (n_conv, n_msg)
        t_lab.append(elapsed)
        t = time.perf_counter()
        verify_gzip(gz)
        t_check.append(time.perf_counter() - t)
    bare_s, lab_s, check_s = (statistics.median(t) for t in (t_bare, t_lab, t_check))
    print(f"gzip: {gz.stat().st_size / 1e6:.0f} MB compressed")
    print(f"bare read_json .gz  {bare_s:8.2f} s")
    print(f"convolab ingest .gz {lab_s:8.2f} s   of which the CRC/length check {check_s:.2f} s"
          f" ({check_s / lab_s:.0%})")
    print(f"ratio convolab / bare read_json on .gz : {lab_s / bare_s:5.2f}x")


if __name__ == "__main__":
    main()
