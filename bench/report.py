"""Benchmark: build a manager report at 10k and 1M conversations; time it and weigh the HTML.

Stores are synthesised directly in DuckDB (as bench/table.py and bench/flags.py do; ingesting
a million JSONL records would dominate the run): 7 flows, two platforms, the contract's
statuses, ~6 messages per conversation (a few with a human agent), 2 function calls with
some errors, call-reason and language tags, recordings "analysed" for phone calls (an
``audio_analyses`` table shaped like the audio helper's), spread over 120 days. Review
flags come from the real criteria engine (``run_flags``, set-based). No emotion scoring:
the sentiment sections then say "not scored".

For each size, in the same run:

- **convolab**: ``build_report`` (the last 30 days against the 30 before: both periods are
  computed) + ``render_html`` + writing the file, what ``convolab report`` does after
  opening the store. Goal at 1M: < 10 s, and the HTML < 5 MB (about 4.8 MB of it is plotly.js).
- **baseline**: the headline figures the straightforward way: fetch the period's
  conversations, their human-agent messages and their flags into polars and aggregate
  in Python. It also cross-checks the report's headline figures.

Medians of ``--repeat`` runs, sizes interleaved. The machine is shared; read the ratios.

Run: ``python bench/report.py [--sizes 10000 1000000] [--repeat 3] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import convolab
from convolab.reports import build_report, render_html

FLOWS = ["Utilities Inbound", "Disgruntled Customer", "Appointment Booking", "Order Status", "Tech Support",
         "Billing Chat", "Insurance Claims"]
REASONS = ["billing", "outage", "move", "complaint", "appointment", "order", "technical", "claim", "service"]
FUNCTIONS = ["lookup_account", "get_bill", "report_outage", "find_slots", "book_appointment", "lookup_order",
             "track_shipment", "run_line_test", "reset_device", "get_balance", "lookup_policy", "open_claim"]
DAYS = 120
START = date(2026, 8, 1)

# Columns of the audio helper's table (see the brief of issue #14); the bench creates it when missing.
AUDIO_DDL = """
    CREATE TABLE IF NOT EXISTS audio_analyses (
        conversation_id VARCHAR, recording VARCHAR, content_hash VARCHAR, analysed_at TIMESTAMP,
        status VARCHAR, reason VARCHAR, duration_s DOUBLE, channels INTEGER,
        talk_customer_s DOUBLE, talk_agent_s DOUBLE, talk_ratio DOUBLE,
        dead_air_count INTEGER, dead_air_total_s DOUBLE, dead_air_longest_s DOUBLE,
        latency_p50_ms DOUBLE, latency_p95_ms DOUBLE, latency_max_ms DOUBLE, latency_n INTEGER,
        interruptions_agent INTEGER, interruptions_customer INTEGER, overtalk_s DOUBLE,
        loudness_mean_dbfs DOUBLE, loudness_peak_dbfs DOUBLE, clipping_ratio DOUBLE, metrics JSON)
"""


def synthesise(path: Path, n: int) -> dict[str, float]:
    """A store of ``n`` conversations, flagged by the built-in criteria. Returns step timings."""
    from convolab.flags import run_flags

    steps: dict[str, float] = {}
    t = time.perf_counter()
    with convolab.open(path) as lab:
        flows = "[" + ", ".join(f"'{f}'" for f in FLOWS) + "]"
        lab.execute(f"""
            INSERT INTO conversations (id, flow, platform, contact, contact_id, status, started_at, ended_at,
                                       duration_s, message_count, function_count, ingested_at)
            SELECT printf('c-%08d', i), {flows}[1 + (hash(i) % 7)::BIGINT],
                   CASE WHEN hash(i + 1) % 3 = 0 THEN 'web' ELSE 'phone' END,
                   CASE WHEN hash(i + 1) % 3 = 0 THEN printf('user%d@example.com', i)
                        ELSE printf('+1555%07d', i % 10000000) END,
                   printf('cust-%d', i % 50000),
                   CASE WHEN hash(i + 2) % 100 < 74 THEN 'completed' WHEN hash(i + 2) % 100 < 83 THEN 'transferred'
                        WHEN hash(i + 2) % 100 < 89 THEN 'abandoned' WHEN hash(i + 2) % 100 < 92 THEN 'failed'
                        WHEN hash(i + 2) % 100 < 94 THEN 'in_progress' WHEN hash(i + 2) % 100 < 95 THEN 'queued'
                        WHEN hash(i + 2) % 100 < 98 THEN 'no_answer' ELSE 'voicemail' END,
                   TIMESTAMP '{START}' + to_seconds((i * {DAYS * 86400}) // ?),
                   TIMESTAMP '{START}' + to_seconds((i * {DAYS * 86400}) // ? + d), d, 6, 2, now()
            FROM (SELECT i, CASE WHEN hash(i + 7) % 100 = 0 THEN 1500 + hash(i) % 900 ELSE 40 + hash(i) % 120 END AS d
                  FROM range(?) t(i))
        """, [n, n, n])  # noqa: S608 - bench-only constants; sizes are bound
        # 6 messages: agent/customer alternating; 2% of conversations have a human agent step in.
        lab.execute("""
            INSERT INTO messages (conversation_id, seq, role, text, sent_at)
            SELECT c.id, s,
                   CASE WHEN s = 4 AND hash(c.id) % 50 = 0 THEN 'human_agent'
                        WHEN s % 2 = 0 THEN 'agent' ELSE 'customer' END,
                   CASE WHEN s = 3 AND hash(c.id) % 40 = 2 THEN 'I want to speak to a real person'
                        WHEN s % 2 = 0 THEN 'Agent line ' || s ELSE 'Customer line ' || s END,
                   c.started_at + to_seconds(s * 6 + CASE WHEN s = 4 AND hash(c.id) % 40 = 5 THEN 30 ELSE 0 END)
            FROM conversations c, range(6) u(s)
        """)
        functions = "[" + ", ".join(f"'{f}'" for f in FUNCTIONS) + "]"
        lab.execute(f"""
            INSERT INTO function_calls (conversation_id, seq, name, arguments, output, status, called_at)
            SELECT c.id, k, {functions}[1 + ((hash(c.id) + k) % 12)::BIGINT], '{{}}', '{{}}',
                   CASE WHEN k = 1 AND hash(c.id) % 25 = 3 THEN 'error' ELSE 'ok' END,
                   c.started_at + to_seconds(k + 2)
            FROM conversations c, range(2) u(k)
        """)  # noqa: S608 - bench-only constants
        reasons = "[" + ", ".join(f"'{r}'" for r in REASONS) + "]"
        lab.execute(f"""
            INSERT INTO tags (conversation_id, key, value)
            SELECT id, 'call_reason', {reasons}[1 + (hash(id || 'r') % 9)::BIGINT] FROM conversations
            UNION ALL SELECT id, 'language', 'en' FROM conversations
        """)  # noqa: S608 - bench-only constants
        lab.execute(AUDIO_DDL)
        lab.execute("""
            INSERT INTO audio_analyses (conversation_id, recording, content_hash, analysed_at, status, duration_s,
                                        channels, dead_air_count, dead_air_total_s, dead_air_longest_s,
                                        latency_p50_ms, latency_p95_ms, latency_max_ms, latency_n,
                                        interruptions_agent, interruptions_customer)
            SELECT id, 'audio/' || id || '.wav', md5(id), now(), CASE WHEN hash(id) % 50 = 0 THEN 'failed' ELSE 'ok' END,
                   duration_s, 2, hash(id) % 3, (hash(id) % 40) / 10.0, (hash(id) % 20) / 10.0,
                   600 + hash(id) % 500, 1200 + hash(id) % 1500, 2500 + hash(id) % 3000, 6,
                   hash(id) % 2, hash(id || 'c') % 3
            FROM conversations WHERE platform = 'phone'
        """)
        steps["data"] = time.perf_counter() - t
        t = time.perf_counter()
        # The flags engine still takes the store's connection (its API predates Workbench.execute).
        run_flags(lab)
        steps["flags"] = time.perf_counter() - t
        lab.execute("CHECKPOINT")
    return steps


def baseline(lab: convolab.Workbench, since: date, until: date) -> tuple[float, dict[str, float]]:
    """Headline figures the straightforward way: fetch rows into polars, aggregate in Python."""
    t = time.perf_counter()
    end = until + timedelta(days=1)
    conv = lab.sql("SELECT id, status, duration_s FROM conversations WHERE started_at >= ? AND started_at < ?",
                   [since, end])
    humans = lab.sql("SELECT conversation_id AS id FROM messages WHERE role IN ('human_agent', 'supervisor')")
    flags = lab.sql("SELECT conversation_id AS id, criterion FROM flags")
    human_ids = set(humans["id"].to_list())
    rows = conv.to_dicts()
    n = len(rows)
    contained = sum(1 for r in rows if r["status"] == "completed" and r["id"] not in human_ids)
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    handled = sorted(r["duration_s"] for r in rows if r["duration_s"] is not None
                     and r["status"] not in ("in_progress", "queued", "no_answer"))
    ids = set(conv["id"].to_list())
    flagged: dict[str, set[str]] = {}
    for r in flags.to_dicts():
        if r["id"] in ids:
            flagged.setdefault(r["criterion"], set()).add(r["id"])
    figures = {
        "conversations": float(n),
        "containment_rate": contained / n,
        "transfer_rate": by_status.get("transferred", 0) / n,
        "abandonment_rate": by_status.get("abandoned", 0) / n,
        "failure_rate": by_status.get("failed", 0) / n,
        "handle_time_mean_s": sum(handled) / len(handled),
        **{f"flag_rate_{c}": len(v) / n for c, v in flagged.items()},
    }
    return time.perf_counter() - t, figures


def convolab_report(lab: convolab.Workbench, since: date, until: date, out: Path) -> tuple[float, float, int, object]:
    t = time.perf_counter()
    report = build_report(lab, since=since, until=until)
    model_s = time.perf_counter() - t
    page = render_html(report)
    out.write_text(page, encoding="utf-8")
    return model_s, time.perf_counter() - t, out.stat().st_size, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the stores in this folder (reused when present).")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    until = START + timedelta(days=DAYS - 1)
    since = until - timedelta(days=29)
    labs = {}
    for n in sizes:
        path = work / f"report-{n}.duckdb"
        if not path.exists():
            steps = synthesise(path, n)
            print(f"{n:>9,} conversations synthesised in {steps['data']:.1f} s, flagged in {steps['flags']:.1f} s")
        labs[n] = convolab.open(path, read_only=True)
    # The everything-in-the-store report once per size (no previous period), for its size and time.
    for n in sizes:
        t = time.perf_counter()
        page = render_html(build_report(labs[n]))
        print(f"{n:>9,}: whole store, no previous period: {time.perf_counter() - t:.2f} s, "
              f"{len(page.encode()):,} bytes")
    model_t: dict[int, list[float]] = {n: [] for n in sizes}
    total_t: dict[int, list[float]] = {n: [] for n in sizes}
    base_t: dict[int, list[float]] = {n: [] for n in sizes}
    size_b: dict[int, int] = {}
    for i in range(args.repeat):
        for n in (sizes if i % 2 == 0 else sizes[::-1]):
            model_s, total_s, size_b[n], report = convolab_report(labs[n], since, until, work / f"report-{n}.html")
            b_s, figures = baseline(labs[n], since, until)
            for name, want in figures.items():
                got = report.kpi(name)
                assert got is not None and abs(got - want) < 1e-9 * max(1.0, abs(want)), (n, name, got, want)
            model_t[n].append(model_s)
            total_t[n].append(total_s)
            base_t[n].append(b_s)
    print(f"period {since} – {until} (30 days) against the 30 days before; median of {args.repeat} runs; "
          "headline figures agree with the baseline")
    for n in sizes:
        total, base = statistics.median(total_t[n]), statistics.median(base_t[n])
        ok = total < 10 and size_b[n] < 5_000_000
        print(f"{n:>9,} conversations: report {total:5.2f} s (model {statistics.median(model_t[n]):.2f} s, "
              f"page {total - statistics.median(model_t[n]):.2f} s), HTML {size_b[n]:,} bytes; "
              f"goal < 10 s and < 5 MB: {'OK' if ok else 'MISSED'}")
        print(f"{'':>9}  baseline, headline figures only (rows fetched into Python): {base:5.2f} s; "
              f"the whole report costs {total / base:.1f}x that")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"ratio {large:,} / {small:,}: report time {statistics.median(total_t[large]) / statistics.median(total_t[small]):.1f}x, "
              f"HTML size {size_b[large] / size_b[small]:.3f}x")
    for lab in labs.values():
        lab.close()
    # The command end to end, as a manager runs it: process start, imports, open, build, write.
    for n in sizes:
        out = work / f"cli-{n}.html"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "convolab", "report", "--db", str(work / f"report-{n}.duckdb"),
                        "--out", str(out)], check=True, capture_output=True)
        print(f"{n:>9,}: `convolab report --out {out.name}` (whole store) end to end {time.perf_counter() - t:.2f} s, "
              f"{out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
