"""Which real conversations and sentences were chosen for labelling, and how.

Run once to write ``selection.tsv`` and ``sentence_selection.tsv`` (both committed);
the labels in ``labels.tsv`` and ``sentence_labels.tsv`` cover exactly these rows.
Deterministic: the same local copies give the same selection.

Conversations (per source): a seeded random sample, plus "candidates" found by broad
searches over the customer's turns. The searches are written for this selection, on
purpose wider than any criterion (they catch "agent", "review", "leave", "again" ...),
and are NOT convolab's criteria patterns, so that selection does not favour what the
shipped criteria already catch. Every selected conversation is then read and labelled
for every criterion; a candidate is often a negative.

Sentences: a seeded random sample of customer turns from TWCS, MultiWOZ and ABCD (not
MAIA, whose sentences carry human emotion labels of their own).

    python bench/real_data/selection.py --source /work/realdata
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sources import Conversation, read_abcd, read_maia, read_multiwoz, read_twcs  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20261128

#: Broad searches over customer text, one per kind of review condition (case-insensitive).
SEARCHES: dict[str, str] = {
    "upset": (
        r"worst|terrible|awful|horrible|ridiculous|unacceptable|frustrat|annoy|angry|furious|fed up|"
        r"sick of|joke|useless|pathetic|disgust|disappoint|wtf|smh|seriously|still (not|no|waiting)|"
        r"again|hours|days|weeks|never|nobody|no one|!!|\?\?|not happy|dissatisf|does not work|doesn'?t work"
    ),
    "person": (
        r"human|person|someone|somebody|agent|rep\b|reps\b|representative|supervisor|manager|"
        r"technician|operator|call me|phone call|speak|talk to|live chat"
    ),
    "escalate": (
        r"complain|complaint|lawyer|attorney|legal|court|\bsue\b|suing|bbb|better business|"
        r"fcc|ftc|ofcom|regulator|ombudsman|chargeback|dispute|report|review|trading standards|"
        r"consumer|media|press|news|public|tell everyone|ceo|corporate"
    ),
    "leave": (
        r"cancel|close (my|the)? ?account|switch|leave|leaving|unsubscrib|terminat|refund|done with|"
        r"another (company|provider|carrier|bank)|competitor|never (again|use|buy|fly|order)|"
        r"go elsewhere|take my business|last time"
    ),
}

#: Round 2, run after round 1 was labelled and showed too few positives for
#: asked_for_human, legal_or_complaint, churn_intent and sentiment_worsened: every
#: not-yet-selected TWCS or MAIA conversation matching one of these (still our own,
#: still broader than any criterion), plus for "worsen" a sample of conversations
#: whose first customer message does not match the "upset" search but a later one does.
SEARCHES_ROUND2: dict[str, str] = {
    "person2": (
        r"\b(speak|talk|chat)\w* (to|with)\b|\b(call|phone|ring) me\b|call ?back|\b(human|real person|"
        r"supervisor|manager|representative|technician|live (agent|person|chat)|operator)\b|"
        r"phone number|number (to|i can) call|\bcontact me\b|\breach out\b"
    ),
    "escalate2": (
        r"complain|lawyer|attorney|legal|\bsue\b|suing|lawsuit|\bbbb\b|better business|\bfcc\b|\bftc\b|"
        r"ofcom|ombudsman|regulator|charge ?back|dispute|trading standards|consumer (rights|protection|"
        r"affairs)|small claims|\bnews\b|\bmedia\b|\bpress\b|\breview|\bceo\b|corporate|head office|"
        r"report(ing)? (you|this|them)"
    ),
    "leave2": (
        r"cancel|close (my|the) account|switch|leav(e|ing) (you|@)|unsubscrib|terminat|done with|"
        r"another (company|provider|carrier|bank|airline)|competitor|never (again|use|buy|fly|order|shop)|"
        r"go(ing)? elsewhere|take my business|lost (me|a customer)|last time|won'?t be (back|using|"
        r"flying|ordering)|moving to"
    ),
}
ROUND2_SOURCES = ("twcs", "maia")
ROUND2_WORSEN = {"twcs": 40, "maia": 25}

#: Conversations per source: random sample size, and candidates per search.
PLAN: dict[str, tuple[int, int]] = {
    "twcs": (100, 25),
    "maia": (60, 12),
    "multiwoz": (70, 4),
    "abcd": (3, 0),
}

#: Customer sentences per source for the sentiment set.
SENTENCE_PLAN: dict[str, int] = {"twcs": 250, "multiwoz": 150, "abcd": 31}


def read_all(root: Path) -> dict[str, list[Conversation]]:
    """Every source's conversations, keyed by source name."""
    return {
        "twcs": read_twcs(root / "twcs"),
        "maia": read_maia(root / "maia"),
        "multiwoz": read_multiwoz(root / "multiwoz"),
        "abcd": read_abcd(root / "abcd"),
    }


def split_of(conversation: Conversation) -> str:
    """``tuning`` or ``heldout``; see README.md "Splits".

    MAIA is held out as a whole source; MultiWOZ by its own split (val tunes, test is
    held out); TWCS by thread, on a hash of the thread id (about 62% tuning); ABCD tunes.
    """
    if conversation.source == "maia":
        return "heldout"
    if conversation.source == "multiwoz":
        return "tuning" if conversation.tags.get("multiwoz_split") == "val" else "heldout"
    if conversation.source == "twcs":
        return "tuning" if hashlib.md5(conversation.id.encode()).hexdigest()[0] < "a" else "heldout"
    return "tuning"


def select_conversations(sources: dict[str, list[Conversation]]) -> list[tuple[str, str, str]]:
    """``(source, conversation id, selected_by)`` rows in a stable order."""
    rows = []
    for source, conversations in sources.items():
        n_random, n_per_search = PLAN[source]
        rng = random.Random(f"{SEED}-{source}")
        ordered = sorted(conversations, key=lambda c: c.id)
        picked = set()
        for c in rng.sample(ordered, min(n_random, len(ordered))):
            picked.add(c.id)
            rows.append((source, c.id, "random"))
        for name, pattern in SEARCHES.items():
            rx = re.compile(pattern, re.IGNORECASE)
            hits = [
                c
                for c in ordered
                if c.id not in picked and any(rx.search(m.text) for m in c.customer_messages)
            ]
            for c in rng.sample(hits, min(n_per_search, len(hits))):
                picked.add(c.id)
                rows.append((source, c.id, f"search:{name}"))
    return rows


def select_round2(
    sources: dict[str, list[Conversation]], already: set[str]
) -> list[tuple[str, str, str]]:
    """Round-2 candidates: see :data:`SEARCHES_ROUND2`."""
    rows = []
    upset = re.compile(SEARCHES["upset"], re.IGNORECASE)
    for source in ROUND2_SOURCES:
        ordered = sorted(sources[source], key=lambda c: c.id)
        picked = set(already)
        for name, pattern in SEARCHES_ROUND2.items():
            rx = re.compile(pattern, re.IGNORECASE)
            for c in ordered:
                if c.id not in picked and any(rx.search(m.text) for m in c.customer_messages):
                    picked.add(c.id)
                    rows.append((source, c.id, f"search2:{name}"))
        worse = [
            c
            for c in ordered
            if c.id not in picked
            and len(c.customer_messages) >= 2
            and not upset.search(c.customer_messages[0].text)
            and any(upset.search(m.text) for m in c.customer_messages[1:])
        ]
        rng = random.Random(f"{SEED}-round2-{source}")
        for c in rng.sample(worse, min(ROUND2_WORSEN[source], len(worse))):
            picked.add(c.id)
            rows.append((source, c.id, "search2:worsen"))
    return rows


def select_sentences(sources: dict[str, list[Conversation]]) -> list[tuple[str, str, str, int]]:
    """``(source, sentence id, conversation id, message index)`` rows: random customer turns."""
    rows = []
    for source, n in SENTENCE_PLAN.items():
        candidates = [
            (c, k)
            for c in sorted(sources[source], key=lambda c: c.id)
            for k, m in enumerate(c.messages)
            if m.role == "customer" and m.text.strip()
        ]
        rng = random.Random(f"{SEED}-sentences-{source}")
        for c, k in sorted(
            rng.sample(candidates, min(n, len(candidates))), key=lambda x: (x[0].id, x[1])
        ):
            rows.append((source, f"{c.id}:{k}", c.id, k))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/realdata"))
    args = parser.parse_args()
    sources = read_all(args.source)
    by_id = {c.id: c for cs in sources.values() for c in cs}
    with (HERE / "selection.tsv").open("w", encoding="utf-8") as fh:
        fh.write("source\tid\tsplit\tselected_by\n")
        first = select_conversations(sources)
        second = select_round2(sources, {cid for _, cid, _ in first})
        for source, cid, how in first + second:
            fh.write(f"{source}\t{cid}\t{split_of(by_id[cid])}\t{how}\n")
    with (HERE / "sentence_selection.tsv").open("w", encoding="utf-8") as fh:
        fh.write("source\tsentence_id\tconversation_id\tmessage\tsplit\n")
        for source, sid, cid, k in select_sentences(sources):
            fh.write(f"{source}\t{sid}\t{cid}\t{k}\t{split_of(by_id[cid])}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
