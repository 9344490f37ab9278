"""Reading emotion scores in context: the scores view at scale vs the text-only view it replaced.

    python bench/emotion_store.py [--conversations 1000000]

Since schema version 8 a customer message's scores are keyed by its text *and* its
context (the agent turn before it), and ``message_emotion_scores`` finds each
message's context with one window over ``messages``. Before, the view joined on
``md5(text)`` alone. This script builds ``--conversations`` synthetic conversations
(7 messages each, as ``bench/flags.py`` does), writes a score row for every
(text, context) pair of the latest model, and times, in the same run:

1. the review flags' two emotion feature queries (``convolab/flags/features.py``)
   over the scores view (new, with contexts) and over the text-only view (v7 shape,
   built beside it on a copy of the scores keyed by text);
2. one conversation's scores, as ``convolab show`` reads them (the conversation filter
   is pushed below the window);
3. ``refresh_conversation_emotions`` (the per-conversation summaries).

Absolute times drift on shared machines; read the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import convolab
from convolab.emotions.labels import LABELS
from convolab.emotions.scoring import refresh_conversation_emotions

MODEL = "bench-model"

# The flags' emotion feature queries, with the view name left open (see features.py).
FEATURES = """
    SELECT conversation_id, max(anger::DOUBLE) AS max_anger, max(annoyance::DOUBLE) AS max_annoyance,
           max(disappointment::DOUBLE) AS max_disappointment, avg(anger) AS mean_anger,
           avg(annoyance) AS mean_annoyance, avg(disappointment) AS mean_disappointment
    FROM {view} WHERE role = 'customer' AND model_id = '{model}' GROUP BY 1
"""
SENTIMENT = """
    SELECT conversation_id, arg_min(sentiment, seq) AS first_sentiment,
           arg_max(sentiment, seq) AS last_sentiment
    FROM {view} WHERE role = 'customer' AND model_id = '{model}' GROUP BY 1
"""


def synthesise(lab: convolab.Workbench, n: int) -> None:
    """n conversations of 7 messages (agent first), with some repeated customer texts."""
    lab.execute(
        "INSERT INTO conversations (id, flow, platform, status) "
        "SELECT 'c-' || i, 'Billing', 'phone', 'completed' FROM range(?) t(i)",
        [n],
    )
    lab.execute(f"""
        INSERT INTO messages (conversation_id, seq, role, text, sent_at)
        SELECT 'c-' || i, s, CASE WHEN s % 2 = 0 THEN 'agent' ELSE 'customer' END,
               CASE WHEN s % 2 = 0 THEN 'Agent line ' || (s + hash(i) % 50)
                    WHEN hash(i) % 3 = 0 THEN 'Yes'
                    ELSE 'Customer line ' || (hash(i) % 2000) || ' ' || s END,
               TIMESTAMP '2026-11-01' + to_seconds(i) + to_seconds(s * 5)
        FROM range({n}) t(i), range(7) u(s)
    """)  # noqa: S608


def score_everything(lab: convolab.Workbench) -> int:
    """One score row per (text, context) pair (new key) and per text (the v7 key)."""
    labels = ", ".join(f"(hash(text_hash) % 100) / 100.0 AS {label}" for label in LABELS)
    lab.execute(f"""
        INSERT INTO message_emotions BY NAME
        SELECT '{MODEL}' AS model_id, text_hash, context_hash, {labels}, [] AS emotions,
               'neutral' AS polarity, 0.1 AS sentiment, now()::TIMESTAMP AS scored_at
        FROM (SELECT DISTINCT text_hash, context_hash FROM message_contexts WHERE role = 'customer')
    """)  # noqa: S608
    lab.execute("INSERT INTO emotion_runs VALUES (?, now(), now(), 0, 0)", [MODEL])
    lab.execute("""
        CREATE TABLE text_emotions AS
        SELECT * EXCLUDE (context_hash) FROM message_emotions
        QUALIFY row_number() OVER (PARTITION BY model_id, text_hash) = 1
    """)
    lab.execute("""
        CREATE VIEW text_emotion_scores AS
        SELECT m.conversation_id, m.seq, m.role, m.sent_at, e.*
        FROM messages AS m JOIN text_emotions AS e ON e.text_hash = md5(m.text)
    """)
    return int(lab.execute("SELECT count(*) FROM message_emotions").scalar())


def timed(lab: convolab.Workbench, sql: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        lab.execute(f"SELECT count(*) FROM ({sql})").fetchone()  # noqa: S608
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    with convolab.open(work / "emotions.duckdb") as lab:
        t = time.perf_counter()
        synthesise(lab, args.conversations)
        rows = score_everything(lab)
        print(f"{args.conversations:,} conversations, {rows:,} score rows (text x context)"
              f" built in {time.perf_counter() - t:.1f} s")
        for name, query in (("emotion features", FEATURES), ("sentiment arc", SENTIMENT)):
            new = timed(lab, query.format(view="message_emotion_scores", model=MODEL), args.repeat)
            old = timed(lab, query.format(view="text_emotion_scores", model=MODEL), args.repeat)
            print(f"  {name:<18} in context {new:6.2f} s   text only (v7) {old:6.2f} s"
                  f"   ratio {new / old:.2f}x")
        one = "SELECT * FROM message_emotion_scores WHERE conversation_id = 'c-4242' AND model_id = '{m}'"
        ms = timed(lab, one.format(m=MODEL), args.repeat) * 1000
        ms_old = timed(lab, one.replace("message_emotion_scores", "text_emotion_scores").format(m=MODEL),
                       args.repeat) * 1000
        print(f"  one conversation   in context {ms:6.1f} ms  text only (v7) {ms_old:6.1f} ms")
        t = time.perf_counter()
        refresh_conversation_emotions(lab, MODEL)
        print(f"  conversation summaries (refresh_conversation_emotions): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
