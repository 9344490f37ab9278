"""Review-flag speed: set-based SQL criteria vs a pandas row-wise ``apply``, and re-tuning.

1. All built-in criteria over ``--conversations`` (default 1,000,000) synthetic
   conversations (7 messages, ~3 function calls each, synthesised directly in
   DuckDB): ``run_flags`` end to end (features + flags written) against a pandas
   implementation of the same criteria that applies a Python function per
   conversation (``groupby(...).apply``). pandas runs on a ``--pandas-sample``
   slice and is scaled linearly (a full run takes many minutes). goal >= 20x.
2. Re-evaluating one criterion after a threshold change on ``--retune``
   (default 100,000) conversations: ``run_flags`` for that criterion alone.
   Features are cached per connection, so the first run computes only the
   features that criterion reads; a re-run after a threshold change checks the
   cache is current, evaluates the condition over it and replaces that
   criterion's flags (goal < 300 ms). For comparison, the same re-run with the
   features recomputed (``refresh=True``, what every run used to do), and the
   tuner path (precision/recall of one threshold value, no flags written).

    python bench/flags.py [--conversations 1000000] [--pandas-sample 20000] [--retune 100000]
                          [--embed-sample 2000]

Emotion criteria are included but see no scores (they evaluate to NULL), as in
an unscored store. Criteria that read meaning (``asked_for_human``,
``legal_or_complaint``, ``churn_intent``, the wording part of
``frustrated_customer``) embed the customer sentences first: that step is timed
on its own (``embed``), once from scratch and once again (incremental: nothing
new), and the synthetic store has few distinct sentences, so its cost on real
text, where nearly every sentence is new, is printed per sentence as well
(``--embed-sample`` distinct sentences). The pandas side matches keywords where
convolab matches meaning (a row-wise embedding per message would only make it
slower, so the ratio is conservative). Absolute times drift on shared machines;
read the ratios.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import convolab
from convolab.flags import load_criteria, run_flags
from convolab.flags.criteria import _compile
from convolab.flags.embeddings import embed_store, load_encoder
from convolab.flags.features import ensure_features
from convolab.flags.tuning import _scores

FLOWS = ["Billing", "Tech Support", "Order Status", "Insurance Claims", "Appointment Booking"]


def synthesise(lab: convolab.Workbench, n: int) -> None:
    """n conversations with planted-looking conditions at a few percent each."""
    con = lab
    con.execute(f"""
        INSERT INTO conversations (id, flow, platform, status, started_at, ended_at, duration_s, message_count)
        SELECT 'c-' || i, (['{"','".join(FLOWS)}'])[1 + i % 5], CASE WHEN i % 3 = 0 THEN 'web' ELSE 'phone' END,
               CASE WHEN hash(i) % 50 = 0 THEN 'failed' WHEN hash(i) % 50 = 1 THEN 'abandoned' ELSE 'completed' END,
               TIMESTAMP '2026-11-01' + to_seconds(i),
               TIMESTAMP '2026-11-01' + to_seconds(i) + to_seconds(d), d, 7
        FROM (SELECT i, CASE WHEN hash(i + 7) % 100 = 0 THEN 1500 + hash(i) % 900 ELSE 40 + hash(i) % 60 END AS d
              FROM range({n}) t(i))
    """)  # noqa: S608 (bench-only constants)
    con.execute(f"""
        INSERT INTO messages (conversation_id, seq, role, text, sent_at)
        SELECT 'c-' || i, s, CASE WHEN s % 2 = 0 THEN 'agent' ELSE 'customer' END,
               CASE WHEN s = 3 AND hash(i) % 40 = 2 THEN 'I want to speak to a real person'
                    WHEN s = 3 AND hash(i) % 40 = 3 THEN 'I will call my lawyer'
                    WHEN s IN (2, 4) AND hash(i) % 40 = 4 THEN 'Could you repeat that?'
                    WHEN s % 2 = 0 THEN 'Agent line ' || s ELSE 'Customer line ' || s END,
               TIMESTAMP '2026-11-01' + to_seconds(i) + to_seconds(
                   s * 5 + CASE WHEN s = 4 AND hash(i) % 40 = 5 THEN 25 ELSE 0 END)
        FROM range({n}) t(i), range(7) u(s)
    """)  # noqa: S608
    con.execute(f"""
        INSERT INTO function_calls (conversation_id, seq, name, status, called_at)
        SELECT 'c-' || i, k,
               CASE WHEN hash(i) % 40 = 6 THEN 'lookup' ELSE (['lookup', 'pay', 'notify'])[1 + k] END,
               CASE WHEN k = 1 AND hash(i) % 40 = 7 THEN 'error' ELSE 'ok' END,
               TIMESTAMP '2026-11-01' + to_seconds(i) + to_seconds(k)
        FROM range({n}) t(i), range(3) u(k)
    """)  # noqa: S608


HUMAN = re.compile(r"(?i)\b(human|real person|representative|speak to (an? )?(agent|person|someone))\b")
LEGAL = re.compile(r"(?i)\b(lawyer|attorney|sue|lawsuit|formal complaint|regulator|ombudsman)\b")
CHURN = re.compile(r"(?i)\b(cancel my (account|subscription)|close my account|switch(ing)? to)\b")


def _robust_z(values: pd.Series, groups: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(median, MAD-scaled SD) of values per group, aligned to the rows."""
    med = values.groupby(groups).transform("median")
    sd = (values - med).abs().groupby(groups).transform("median") * 1.4826
    return med, sd


def pandas_flags(conv: pd.DataFrame, msgs: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """The same criteria, written the row-wise way: a Python function per conversation."""
    log_d = conv["duration_s"].clip(lower=1).map(math.log)
    med = log_d.groupby(conv["flow"]).median()
    mad = (log_d - conv["flow"].map(med)).abs().groupby(conv["flow"]).median() * 1.4826
    msgs_by = dict(tuple(msgs.groupby("conversation_id")))
    calls_by = dict(tuple(calls.groupby("conversation_id")))
    # Reply times per conversation (next agent message after a customer's last line),
    # then the flow-relative z of the log slowest reply, with the platform as fallback.
    replies: dict[str, list[float]] = {}
    for cid, m in msgs_by.items():
        rows = m.sort_values("seq").to_dict("records")
        out = []
        for k, r in enumerate(rows):
            if r["role"] != "customer" or (k + 1 < len(rows) and rows[k + 1]["role"] == "customer"):
                continue
            nxt = next((x for x in rows[k + 1:] if x["role"] in ("agent", "human_agent")), None)
            if nxt is not None and pd.notna(nxt["sent_at"]) and pd.notna(r["sent_at"]):
                out.append((nxt["sent_at"] - r["sent_at"]).total_seconds())
        replies[cid] = out
    slow = conv[["id", "flow", "platform"]].assign(
        slowest=conv["id"].map(lambda c: max(replies.get(c) or [float("nan")])),
        median=conv["id"].map(lambda c: pd.Series(replies.get(c) or [float("nan")]).median()))
    slow = slow[slow["slowest"].notna()].assign(ln=lambda d: d["slowest"].clip(lower=1).map(math.log))
    fmed, fsd = _robust_z(slow["ln"], slow["flow"])
    pmed, psd = _robust_z(slow["ln"], slow["platform"])
    fn = slow.groupby("flow")["ln"].transform("size")
    pn = slow.groupby("platform")["ln"].transform("size")
    z = ((slow["ln"] - fmed) / fsd).where((fn >= 20) & (fsd > 0))
    z = z.where(fn >= 20, ((slow["ln"] - pmed) / psd).where((pn >= 20) & (psd > 0)))
    z_of = dict(zip(slow["id"], z, strict=True))
    typical = slow.groupby("flow")["median"].transform("median").where(fn >= 20,
                                                                       slow.groupby("platform")["median"].transform("median").where(pn >= 20))
    typical_of = dict(zip(slow["flow"], typical, strict=True))

    def one(row: pd.Series) -> list[str]:
        m = msgs_by.get(row["id"])
        f = calls_by.get(row["id"])
        out = []
        if row["status"] == "failed":
            out.append("technical_failure")
        if f is not None:
            if (f["status"] == "error").any():
                out.append("function_failed")
            if f["name"].value_counts().max() >= 3:
                out.append("agent_loop")
        reply = unanswered = None
        if m is not None:
            m = m.sort_values("seq")
            cust = m[m["role"] == "customer"]["text"]
            if cust.map(lambda t: bool(HUMAN.search(t))).any():
                out.append("asked_for_human")
            if cust.map(lambda t: bool(LEGAL.search(t))).any():
                out.append("legal_or_complaint")
            if cust.map(lambda t: bool(CHURN.search(t))).any():
                out.append("churn_intent")
            agent = m[m["role"] == "agent"]["text"].tolist()
            if any(a == b for a, b in zip(agent, agent[1:], strict=False)):
                out.append("agent_repeated_reply")
            rows = m.to_dict("records")
            for k, r in enumerate(rows):
                if r["role"] != "customer" or (k + 1 < len(rows) and rows[k + 1]["role"] == "customer"):
                    continue
                nxt = next((x["sent_at"] for x in rows[k + 1:] if x["role"] in ("agent", "human_agent")), None)
                if nxt is not None:
                    g = (nxt - r["sent_at"]).total_seconds()
                    reply = g if reply is None else max(reply, g)
                elif row["ended_at"] is not None:
                    unanswered = (row["ended_at"] - r["sent_at"]).total_seconds()
        typ = typical_of.get(row["flow"])
        if (unanswered is not None and row["status"] == "abandoned" and unanswered >= 20
                and (typ is None or pd.isna(typ) or unanswered >= 3 * typ)):
            out.append("abandoned_after_wait")
        zz = z_of.get(row["id"])
        if reply is not None and reply >= 15 and (zz is None or pd.isna(zz) or zz >= 2.5):
            out.append("slow_agent_response")
        sd = mad.get(row["flow"])
        if sd and abs(math.log(max(row["duration_s"], 1)) - med[row["flow"]]) / sd >= 5:
            out.append("duration_anomaly")
        return out

    return conv.assign(flags=conv.apply(one, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--pandas-sample", type=int, default=20_000)
    parser.add_argument("--retune", type=int, default=100_000)
    parser.add_argument("--embed-sample", type=int, default=2000, help="distinct sentences to time the encoder on")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())

    with convolab.open(work / "big.duckdb") as lab:
        t = time.perf_counter()
        synthesise(lab, args.conversations)
        print(f"synthesised {args.conversations:,} conversations in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        done = embed_store(lab)
        embed_s = time.perf_counter() - t
        t = time.perf_counter()
        again = embed_store(lab)
        print(f"embed: {done['embedded']:,} distinct customer sentences in {embed_s:.1f} s;"
              f" again (nothing new): {again['embedded']} in {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        counts = run_flags(lab)
        sql_s = time.perf_counter() - t
        print(f"convolab run_flags (all {len(counts)} built-ins): {sql_s:.2f} s, {sum(counts.values()):,} flags"
              f" (+ {embed_s:.1f} s embedding = {sql_s + embed_s:.2f} s)")
        sql_s += embed_s
        t = time.perf_counter()
        rebuilt = ensure_features(lab, {f for c in load_criteria() for f in _compile(c).features})
        print(f"  checking the cached features are current: {(time.perf_counter() - t) * 1000:.0f} ms"
              f" (rebuilt: {rebuilt or 'nothing'})")

        k = min(args.pandas_sample, args.conversations)
        conv = lab.execute("SELECT id, flow, status, duration_s, ended_at FROM conversations").df()
        sample_ids = conv["id"].head(k)
        msgs = lab.execute("SELECT * FROM messages WHERE conversation_id IN (SELECT unnest(?))",
                               [sample_ids.tolist()]).df()
        calls = lab.execute("SELECT conversation_id, name, status FROM function_calls"
                                " WHERE conversation_id IN (SELECT unnest(?))", [sample_ids.tolist()]).df()
        # Medians come from all conversations (as in SQL); the per-row work runs on the slice.
        t = time.perf_counter()
        pd_result = pandas_flags(conv, msgs, calls) if k == len(conv) else pandas_flags(conv.head(k), msgs, calls)
        pd_s = (time.perf_counter() - t) * args.conversations / k
        pd_set = {(i, c) for i, fl in zip(pd_result["id"], pd_result["flags"], strict=True) for c in fl}
        sql_set = set(lab.execute(
            "SELECT conversation_id, criterion FROM flags WHERE conversation_id IN (SELECT unnest(?))",
            [sample_ids.tolist()]).fetchall())
        print(f"agreement on the slice: {len(pd_set & sql_set):,} common flags, "
              f"{len(pd_set ^ sql_set):,} different")
        print(f"pandas apply: {k:,} conversations scaled to {args.conversations:,}: {pd_s:.1f} s")
        print(f"ratio pandas / convolab: {pd_s / sql_s:.1f}x (goal >= 20x)")

    if args.embed_sample:
        # Real text is nearly all distinct: the per-sentence cost of the encoder decides.
        import random

        rng = random.Random(0)
        words = ("my order bill account phone refund delivery password app router charge plan card "
                 "still again never please today why cannot twice help manager cancel switch late").split()
        sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 18))) + f" {i}."
                     for i in range(args.embed_sample)]
        encoder = load_encoder()
        encoder.encode(sentences[:32])  # warm up
        t = time.perf_counter()
        encoder.encode(sentences)
        rate = len(sentences) / (time.perf_counter() - t)
        print(f"embedding distinct sentences (6-18 words): {rate:,.0f} sentences/s on this machine;"
              f" e.g. 100,000 new customer messages of ~2 sentences: {200_000 / rate / 60:.0f} min")

    with convolab.open(work / "retune.duckdb") as lab:
        synthesise(lab, args.retune)
        crit = next(c for c in load_criteria() if c.name == "slow_agent_response")
        n = f"{args.retune:,}"
        t = time.perf_counter()
        run_flags(lab, [crit])
        print(f"first run of one criterion on {n}: {(time.perf_counter() - t) * 1000:.0f} ms"
              " (computes only the features it reads)")

        def median_ms(step) -> float:
            times = []
            for gap in (10, 20, 30):
                t = time.perf_counter()
                step(gap)
                times.append(time.perf_counter() - t)
            return statistics.median(times) * 1000

        ms = median_ms(lambda gap: run_flags(lab, [crit.with_params(gap_s=gap)]))
        print(f"re-run one criterion after a threshold change on {n}: {ms:.0f} ms"
              " (features cached, its flags replaced; goal < 300 ms)")
        ms = median_ms(lambda gap: run_flags(lab, [crit.with_params(gap_s=gap)], refresh=True))
        print(f"  the same with its features recomputed (refresh=True): {ms:.0f} ms")
        checked = []

        def tuner(gap: float) -> None:
            comp = _compile(crit.with_params(gap_s=gap))
            checked.append(_scores(lab, crit.name, comp.where, comp.where_params, "ground_truth")["flagged"])

        ms = median_ms(tuner)
        print(f"tuner path (precision/recall of one threshold, cache checked, no flags written) on {n}: {ms:.1f} ms")
        assert checked == sorted(checked, reverse=True), checked


if __name__ == "__main__":
    main()
