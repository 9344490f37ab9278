"""Rebuild the real-conversation development sets from local copies of the sources.

    python bench/real_data/build.py --source /work/realdata --out DIR

``--source`` holds one folder per source (``twcs/``, ``maia/``, ``multiwoz/``,
``abcd/``; README.md beside this file says where each copy comes from). Writes to DIR:

``<set>.jsonl``
    The labelled conversations of one source in convolab's canonical JSONL, each with
    its ``ground_truth`` list (the criteria that hold, from ``labels.tsv``). Load it
    with ``convolab ingest`` and compare with ``convolab eval-flags``.
``<set>-all.jsonl``
    Every conversation of the source's local copy (labelled ones carry
    ``ground_truth``, the rest have none): for shares over a whole channel, such as
    how many cooperative booking dialogues get flagged.
``sentences.jsonl`` and ``sentences-conversations.jsonl``
    Customer sentences with a sentiment label (negative / neutral / positive /
    ambiguous) and the agent turn before them: ours for TWCS, MultiWOZ and ABCD
    (``sentence_labels.tsv``), MAIA's human emotion labels mapped to the four
    classes. The second file holds each sentence as a tiny canonical conversation
    (the agent turn, then the customer sentence) so convolab can score it in context.
``raw/<source>.csv``
    One export per source in its natural shape (Twitter's ``created_at`` strings,
    ABCD's ``action`` role, MultiWOZ's USER/SYSTEM, MAIA's inbound/outbound), for
    work on loading real exports as they come.
``manifest.json``
    Counts per set, split and label, and a sha256 of every input file.

Conversions to canonical JSONL, none of which invents data: TWCS times
(``Tue Oct 31 21:45:10 +0000 2017``) become ISO-8601 UTC; sources without real times
get no times at all (``started_at``, ``ended_at`` and message ``at`` are absent);
TWCS inbound/outbound, MultiWOZ USER/SYSTEM and MAIA inbound/outbound become
customer/agent; ABCD's ``action`` turns become ``system`` messages; platform is
``web`` for every set (convolab knows only phone and web) and the channel
(social / chat / booking) is a tag. Duplicate conversations (MAIA ships 43 dialogues
twice, MultiWOZ 3) are kept once, under the first id. Output is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from selection import read_all, split_of  # noqa: E402
from sources import Conversation  # noqa: E402

CRITERIA: tuple[str, ...] = (
    "frustrated_customer", "asked_for_human", "legal_or_complaint", "churn_intent", "sentiment_worsened",
)  # fmt: skip
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive", "ambiguous")

#: MAIA's eight emotions -> the four sentiment classes (LABELLING.md explains why).
MAIA_SENTIMENT: dict[str, str] = {
    "neutral": "neutral",
    "happiness": "positive",
    "empathy": "positive",
    "disappointment": "negative",
    "frustration": "negative",
    "anger": "negative",
    "anxiety": "negative",
    "confusion": "ambiguous",
}

#: Documented for the day EmoWOZ can be obtained (LABELLING.md); not used by this build.
EMOWOZ_SENTIMENT: dict[str, str] = {
    "neutral": "neutral",
    "satisfied": "positive",
    "excited": "positive",
    "dissatisfied": "negative",
    "fearful": "negative",
    "abusive": "negative",
    "apologetic": "neutral",
}

SETS: tuple[str, ...] = ("twcs", "maia", "multiwoz", "abcd")


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_labels(path: Path = HERE / "labels.tsv") -> dict[str, list[str]]:
    """Conversation id -> the criteria labelled 1 (possibly none)."""
    out = {}
    for row in read_tsv(path):
        out[row["id"]] = [c for c in CRITERIA if row[c] == "1"]
    return out


def deduplicate(conversations: list[Conversation]) -> tuple[list[Conversation], dict[str, str]]:
    """Keep the first (by id) of conversations with identical messages; map the others."""
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    kept, dropped = [], {}
    for c in sorted(conversations, key=lambda c: c.id):
        key = tuple((m.role, m.text) for m in c.messages)
        if key in seen:
            dropped[c.id] = seen[key]
        else:
            seen[key] = c.id
            kept.append(c)
    return kept, dropped


def canonical(c: Conversation, ground_truth: list[str] | None) -> dict[str, Any]:
    """One conversation as a canonical JSONL record (no field is invented)."""
    times = [m.at for m in c.messages if m.at]
    record: dict[str, Any] = {
        "id": c.id,
        "flow": c.flow,
        "platform": "web",
        "status": c.status,
        "tags": {"source": c.source, "channel": c.channel, "split": split_of(c), **c.tags},
        "messages": [
            {"role": m.role, "text": m.text, **({"at": m.at} if m.at else {})} for m in c.messages
        ],
    }
    if times:
        record["started_at"], record["ended_at"] = min(times), max(times)
    if ground_truth is not None:
        record["ground_truth"] = ground_truth
        record["tags"]["labelled"] = "yes"
    return record


def previous_agent(c: Conversation, index: int) -> str:
    """Text of the last agent message before message ``index`` ("" if none)."""
    for m in reversed(c.messages[:index]):
        if m.role in ("agent", "human_agent"):
            return m.text
    return ""


def build_sentences(
    by_id: dict[str, Conversation], maia: list[Conversation]
) -> list[dict[str, Any]]:
    """Our labelled sentences plus every MAIA customer sentence with a human label."""
    ours = {r["sentence_id"]: r for r in read_tsv(HERE / "sentence_labels.tsv")}
    rows = []
    for sel in read_tsv(HERE / "sentence_selection.tsv"):
        label = ours.get(sel["sentence_id"])
        c = by_id.get(sel["conversation_id"])
        # A copy without this conversation (another TWCS slice, a test fixture) skips it;
        # build() counts what was skipped so a short copy is never mistaken for the real one.
        if label is None or c is None or int(sel["message"]) >= len(c.messages):
            continue
        k = int(sel["message"])
        rows.append(
            {
                "id": sel["sentence_id"],
                "source": sel["source"],
                "conversation_id": c.id,
                "message": k,
                "split": split_of(c),
                "text": c.messages[k].text,
                "previous_agent": previous_agent(c, k),
                "label": label["label"],
                "label_by": "convolab-helper",
                "source_label": "",
            }
        )
    for c in maia:
        for k, m in enumerate(c.messages):
            for s in m.sentences:
                if not s["emotion"] or not s["text"].strip():
                    continue
                rows.append(
                    {
                        "id": f"{c.id}:{k}:{s['index']}",
                        "source": "maia",
                        "conversation_id": c.id,
                        "message": k,
                        "split": split_of(c),
                        "text": s["text"].strip(),
                        "previous_agent": previous_agent(c, k),
                        "label": MAIA_SENTIMENT[s["emotion"]],
                        "label_by": "maia-annotators",
                        "source_label": s["emotion"],
                    }
                )
    return rows


def sentence_conversation(row: dict[str, Any]) -> dict[str, Any]:
    """A sentence as a two-message canonical conversation (agent context, customer)."""
    messages = []
    if row["previous_agent"]:
        messages.append({"role": "agent", "text": row["previous_agent"]})
    messages.append({"role": "customer", "text": row["text"]})
    return {
        "id": row["id"],
        "flow": "Sentence sentiment",
        "platform": "web",
        "status": "completed",
        "tags": {"source": row["source"], "split": row["split"], "sentiment": row["label"]},
        "messages": messages,
    }


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def write_raw(path: Path, conversations: list[Conversation]) -> int:
    rows = [r for c in conversations for r in c.raw]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def checksums(source: Path) -> dict[str, str]:
    return {
        str(p.relative_to(source)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(source.rglob("*"))
        if p.is_file()
    }


def build(source: Path, out: Path) -> dict[str, Any]:
    """Write every output into ``out``; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw").mkdir(exist_ok=True)
    labels = load_labels()
    sources = read_all(source)
    manifest: dict[str, Any] = {"sets": {}, "inputs": checksums(source)}
    by_id: dict[str, Conversation] = {}
    for name in SETS:
        kept, dropped = deduplicate(sources[name])
        by_id.update({c.id: c for c in kept})
        # A label made on a copy that deduplication dropped belongs to the copy that was kept.
        for gone, stays in sorted(dropped.items()):
            if gone in labels and stays not in labels:
                labels[stays] = labels[gone]
        labelled = [c for c in kept if c.id in labels]
        write_jsonl(out / f"{name}.jsonl", [canonical(c, labels[c.id]) for c in labelled])
        write_jsonl(out / f"{name}-all.jsonl", [canonical(c, labels.get(c.id)) for c in kept])
        raw_rows = write_raw(out / "raw" / f"{name}.csv", kept)
        per_split = Counter(split_of(c) for c in labelled)
        positives = {
            crit: dict(Counter(split_of(c) for c in labelled if crit in labels[c.id]))
            for crit in CRITERIA
        }
        manifest["sets"][name] = {
            "conversations": len(kept),
            "duplicates_dropped": len(dropped),
            "labelled": len(labelled),
            "labelled_by_split": dict(per_split),
            "positives_by_split": positives,
            "raw_rows": raw_rows,
        }
    everything = {c.id for cs in sources.values() for c in cs}
    manifest["labels_not_in_copy"] = sorted(i for i in labels if i not in everything)
    sentences = build_sentences(by_id, [c for c in by_id.values() if c.source == "maia"])
    manifest["sentence_labels_not_in_copy"] = sum(
        1 for r in read_tsv(HERE / "sentence_labels.tsv")
    ) - sum(1 for r in sentences if r["label_by"] == "convolab-helper")
    write_jsonl(out / "sentences.jsonl", sentences)
    write_jsonl(
        out / "sentences-conversations.jsonl", [sentence_conversation(r) for r in sentences]
    )
    manifest["sentences"] = {
        src: dict(Counter(r["label"] for r in sentences if r["source"] == src))
        for src in sorted({r["source"] for r in sentences})
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path("/work/realdata"),
        help="local copies, one folder per source",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the sets into")
    args = parser.parse_args()
    missing = [s for s in SETS if not (args.source / s).is_dir()]
    if missing:
        print(
            f"error: {args.source} has no folder for {', '.join(missing)} (see bench/real_data/README.md)",
            file=sys.stderr,
        )
        return 2
    manifest = build(args.source, args.out)
    if manifest["labels_not_in_copy"] or manifest["sentence_labels_not_in_copy"]:
        print(
            f"warning: {len(manifest['labels_not_in_copy'])} labelled conversations and "
            f"{manifest['sentence_labels_not_in_copy']} labelled sentences are not in this copy "
            "(see manifest.json); results are not comparable with the documented sets",
            file=sys.stderr,
        )
    for name, info in manifest["sets"].items():
        print(f"{name:<9} {info['conversations']:>5} conversations, {info['labelled']:>4} labelled")
    print(
        f"sentences {sum(sum(v.values()) for v in manifest['sentences'].values()):>5} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
