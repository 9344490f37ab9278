"""Readers for the real customer-service sources, each into one conversation shape.

Every reader takes the folder of one source's local copy (see ``README.md`` beside this
file for where each copy comes from) and returns :class:`Conversation` objects in a
deterministic order. Nothing here invents data: a source without real times gives
``None`` times, and text is kept as the source has it (TWCS keeps its anonymised
``@123456`` mentions; MAIA customer turns are the dataset's own English machine
translation, because the customers wrote German or Portuguese).

Only the standard library is used, so the build runs without convolab installed.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "MAIA_EMOTIONS",
    "MAIA_FILES",
    "Conversation",
    "Message",
    "read_abcd",
    "read_maia",
    "read_multiwoz",
    "read_twcs",
    "twitter_time",
]

#: MAIA-DQE's emotion label ids, in the order of its ``Emotion/data/maia/labels.txt``.
MAIA_EMOTIONS: tuple[str, ...] = (
    "empathy", "happiness", "neutral", "disappointment", "confusion", "frustration",
    "anger", "anxiety",
)  # fmt: skip

#: The MAIA-DQE subsets in the repository snapshot (``de_client_01`` is over the
#: snapshot's 4 MiB file limit and is not used).
MAIA_FILES: tuple[str, ...] = (
    "de_client_02",
    "pt_br_client_02",
    "pt_br_client_04",
    "pt_pt_client_03",
)


@dataclass
class Message:
    """One turn as convolab's canonical JSONL wants it, plus what the source called it."""

    role: str  # customer | agent | system
    text: str
    at: str | None = None  # ISO-8601 UTC, only when the source has a real time
    source_role: str = ""  # the role value as the source spells it (inbound, USER, action ...)
    source_id: str = ""  # the source's own id for this turn (tweet id, turn index)
    sentences: list[dict[str, Any]] = field(default_factory=list)  # MAIA: text + human emotion


@dataclass
class Conversation:
    """One conversation of one source."""

    source: str
    id: str  # unique across sources: "<source>-<source id>"
    source_id: str
    flow: str
    channel: str  # social | chat | booking
    messages: list[Message]
    status: str = "completed"
    tags: dict[str, str] = field(default_factory=dict)
    raw: list[dict[str, Any]] = field(default_factory=list)  # natural-shape rows for the raw export

    @property
    def customer_messages(self) -> list[Message]:
        return [m for m in self.messages if m.role == "customer"]


def twitter_time(value: str) -> str:
    """``Tue Oct 31 21:45:10 +0000 2017`` -> ``2017-10-31T21:45:10Z`` (UTC).

    Parameters
    ----------
    value : str
        A timestamp in the Twitter API's ``created_at`` format.

    Returns
    -------
    str
        The same instant as ISO-8601 in UTC with a ``Z`` suffix.
    """
    parsed = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tweet_id(value: str | None) -> str:
    """TWCS ids as written by pandas may read ``3.0``; ids are integers."""
    if value is None or not value.strip():
        return ""
    return str(int(float(value)))


def read_twcs(folder: Path) -> list[Conversation]:
    """Customer Support on Twitter threads from ``twcs_part.csv``.

    A thread is a connected group of tweets linked by ``in_response_to_tweet_id``
    within the file; its id is its smallest tweet id. Inbound tweets are the
    customer's, outbound the company's (``agent``). The file is the first 5,000
    rows of TWCS, so a thread can miss tweets that lie outside it; threads without
    both a customer and a company tweet are dropped (TWCS promises both).
    """
    # The documented copy is the first 5,000 rows; a full Kaggle twcs.csv is read the same way.
    path = folder / "twcs_part.csv"
    if not path.exists():
        path = folder / "twcs.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        # The copy ends mid-record (a truncated last row without time or direction); skip such rows.
        rows = [
            r
            for r in csv.DictReader(fh)
            if r.get("tweet_id") and r.get("created_at") and r.get("inbound")
        ]
    by_id = {_tweet_id(r["tweet_id"]): r for r in rows}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for tid in by_id:
        parent.setdefault(tid, tid)
    for tid, r in by_id.items():
        up = _tweet_id(r["in_response_to_tweet_id"])
        if up in by_id:
            a, b = find(tid), find(up)
            if a != b:
                parent[max(a, b, key=int)] = min(a, b, key=int)
    groups: dict[str, list[dict[str, str]]] = {}
    for tid, r in by_id.items():
        groups.setdefault(find(tid), []).append(r)

    out = []
    for root in sorted(groups, key=int):
        tweets = sorted(
            groups[root],
            key=lambda r: (twitter_time(r["created_at"]), int(_tweet_id(r["tweet_id"]))),
        )
        inbound = [r["inbound"].strip().lower() == "true" for r in tweets]
        if not any(inbound) or all(inbound):
            continue
        companies = sorted({r["author_id"] for r, i in zip(tweets, inbound, strict=True) if not i})
        messages = [
            Message(
                role="customer" if i else "agent",
                text=r["text"],
                at=twitter_time(r["created_at"]),
                source_role="inbound" if i else "outbound",
                source_id=_tweet_id(r["tweet_id"]),
            )
            for r, i in zip(tweets, inbound, strict=True)
        ]
        raw = [
            {
                "thread": f"twcs-{root}",
                "tweet_id": _tweet_id(r["tweet_id"]),
                "author_id": r["author_id"],
                "inbound": r["inbound"],
                "created_at": r["created_at"],
                "text": r["text"],
                "response_tweet_id": r["response_tweet_id"],
                "in_response_to_tweet_id": _tweet_id(r["in_response_to_tweet_id"]),
            }
            for r in tweets
        ]
        out.append(
            Conversation(
                source="twcs",
                id=f"twcs-{root}",
                source_id=root,
                flow="Twitter support",
                channel="social",
                messages=messages,
                tags={"company": ",".join(companies)},
                raw=raw,
            )
        )
    return out


def _maia_status(dialog: dict[str, Any]) -> str:
    # "Dropped conversation" is 1 when the annotators judged the customer left early.
    return "abandoned" if dialog.get("Dropped conversation") == 1 else "completed"


def read_maia(folder: Path) -> list[Conversation]:
    """MAIA-DQE customer-support chats with sentence-level human emotion labels.

    Customer turns (``floor`` inbound) are in the dataset's English machine translation
    (``text_mt``); agent turns (outbound) are the agent's own English (``text_src``).
    Each customer message keeps its sentences with the annotated emotion, so the
    sentence-level sentiment set can be built from the same read.
    """
    out = []
    for name in MAIA_FILES:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        for dialogue in data:
            # MAIA ids look like "en_de_#CLIENT-02#_default_2021-01-10-5"; the "#" is dropped
            # so ids stay plain (order and uniqueness are unchanged).
            cid = f"maia-{name}-{dialogue['id']}".replace("#", "")
            messages, raw = [], []
            for k, turn in enumerate(dialogue["turns"]):
                inbound = turn["floor"] == "inbound"
                english = turn["text_mt"] if inbound else turn["text_src"]
                original = turn["text_src"] if inbound else turn["text_mt"]
                emotions = turn.get("Emotion") or []
                sentences = [
                    {
                        "index": j,
                        "text": s,
                        # Some turns carry fewer labels than sentences; those stay unlabelled.
                        "emotion": MAIA_EMOTIONS[emotions[j]]
                        if j < len(emotions) and emotions[j] is not None
                        else None,
                    }
                    for j, s in enumerate(english)
                ]
                text = " ".join(s.strip() for s in english if s.strip())
                messages.append(
                    Message(
                        role="customer" if inbound else "agent",
                        text=text,
                        source_role=turn["floor"],
                        source_id=str(k),
                        sentences=sentences if inbound else [],
                    )
                )
                raw.append(
                    {
                        "id": cid,
                        "turn": k,
                        "floor": turn["floor"],
                        "text_en": text,
                        "text_original": " ".join(original),
                        "emotions": ";".join(s["emotion"] or "" for s in sentences),
                    }
                )
            out.append(
                Conversation(
                    source="maia",
                    id=cid,
                    source_id=f"{name}/{dialogue['id']}",
                    flow=f"MAIA {name.rsplit('_', 2)[0]} support",
                    channel="chat",
                    messages=messages,
                    status=_maia_status(dialogue.get("dialog") or {}),
                    tags={"client": name},
                    raw=raw,
                )
            )
    return out


def read_multiwoz(folder: Path, splits: tuple[str, ...] = ("val", "test")) -> list[Conversation]:
    """MultiWOZ 2.1 dialogues (ConvLab-2's copy) from ``<split>.json.zip``.

    Turns alternate user, system, starting with the user. The WOZ setup has no real
    times, so messages carry none. The split (val or test) is kept as a tag.
    """
    out = []
    for split in splits:
        with zipfile.ZipFile(folder / f"{split}.json.zip") as z:
            data = json.loads(z.read(f"{split}.json"))
        for did in sorted(data):
            log = data[did]["log"]
            goal = data[did].get("goal") or {}
            domains = sorted(
                d
                for d, v in goal.items()
                if isinstance(v, dict) and v and d not in ("message", "topic")
            )
            messages = [
                Message(
                    role="customer" if k % 2 == 0 else "agent",
                    text=turn["text"].strip(),
                    source_role="USER" if k % 2 == 0 else "SYSTEM",
                    source_id=str(k),
                )
                for k, turn in enumerate(log)
            ]
            raw = [
                {"dialogue_id": did, "turn": k, "speaker": m.source_role, "utterance": m.text}
                for k, m in enumerate(messages)
            ]
            out.append(
                Conversation(
                    source="multiwoz",
                    id=f"multiwoz-{did.removesuffix('.json')}",
                    source_id=did,
                    flow="MultiWOZ " + "+".join(domains) if domains else "MultiWOZ",
                    channel="booking",
                    messages=messages,
                    tags={"multiwoz_split": split, "domains": ",".join(domains)},
                    raw=raw,
                )
            )
    return out


def read_abcd(folder: Path) -> list[Conversation]:
    """ABCD conversations from the repository's ``abcd_sample.json`` (3 conversations).

    ABCD's ``action`` turns are the agent's button presses in its tool (``Account has
    been pulled up for ...``); canonical JSONL has no such role, so they become
    ``system`` messages, and the raw export keeps ``action``.
    """
    data = json.loads((folder / "abcd_sample.json").read_text(encoding="utf-8"))
    out = []
    for convo in sorted(data, key=lambda c: int(c["convo_id"])):
        cid = str(convo["convo_id"])
        role_of = {"customer": "customer", "agent": "agent", "action": "system"}
        messages = [
            Message(role=role_of[speaker], text=text, source_role=speaker, source_id=str(k))
            for k, (speaker, text) in enumerate(convo["original"])
        ]
        scenario = convo.get("scenario") or {}
        raw = [
            {"chat": f"abcd-{cid}", "turn": k, "speaker": m.source_role, "text": m.text}
            for k, m in enumerate(messages)
        ]
        out.append(
            Conversation(
                source="abcd",
                id=f"abcd-{cid}",
                source_id=cid,
                flow=f"ABCD {scenario.get('flow', '')}".strip(),
                channel="chat",
                messages=messages,
                tags={
                    "flow": str(scenario.get("flow", "")),
                    "subflow": str(scenario.get("subflow", "")),
                },
                raw=raw,
            )
        )
    return out
