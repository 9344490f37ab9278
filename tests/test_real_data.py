"""The real-data build (bench/real_data) and the statistics of bench/real_quality.py.

The real sources are not in the repository (their licences forbid it, see
bench/real_data/README.md), so the readers and the build are tested on small files
written here in each source's shape, with text of our own; the output is loaded with
the real ``convolab.ingest`` into a real DuckDB store. The committed label files are
checked for internal consistency.
"""

from __future__ import annotations

import csv
import json
import sys
import zipfile
from pathlib import Path

import pytest

import convolab

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO / "bench" / "real_data"
sys.path.insert(0, str(REAL_DATA))
sys.path.insert(0, str(REPO / "bench"))

import agreement  # noqa: E402
import build  # noqa: E402
import real_quality  # noqa: E402
import sources  # noqa: E402

TWCS_HEADER = (
    ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
)


def write_twcs(folder: Path) -> None:
    """Two threads in TWCS's shape (pandas index column, float parent ids) and a cut-off row."""
    folder.mkdir(parents=True)
    rows = [
        "0,10,acmehelp,False,Tue Oct 31 22:10:47 +0000 2017,@900 Sorry to hear that. Please DM us.,11,12.0",
        "1,11,900,True,Tue Oct 31 22:20:00 +0000 2017,@acmehelp done,,10.0",
        "2,12,900,True,Tue Oct 31 22:00:00 +0000 2017,@acmehelp my parcel is late again,10,",
        '3,20,901,True,Wed Nov 01 08:00:00 +0100 2017,"@acmehelp hello,\nis the shop open?",21,',
        "4,21,acmehelp,False,Wed Nov 01 07:30:00 +0000 2017,@901 Yes until 8pm.,,20.0",
        "5,30,902,True,Wed Nov 01 09:00:00 +0000 2017,@acmehelp only the customer spoke,,",
        "6,40,903",  # the copy ends mid-record
    ]
    (folder / "twcs_part.csv").write_text(TWCS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")


def write_multiwoz(folder: Path) -> None:
    folder.mkdir(parents=True)
    log = [{"text": "I need a taxi to the station ."}, {"text": "What time ?"},
           {"text": "At 5 pm please ."}, {"text": "Booked ."}]  # fmt: skip
    for split in ("val", "test"):
        data = {
            f"{split.upper()}1.json": {"goal": {"taxi": {"info": {"leaveAt": "17:00"}}}, "log": log}
        }
        with zipfile.ZipFile(folder / f"{split}.json.zip", "w") as z:
            z.writestr(f"{split}.json", json.dumps(data))


def write_abcd(folder: Path) -> None:
    folder.mkdir(parents=True)
    convo = {"convo_id": 7, "scenario": {"flow": "refund", "subflow": "status"},
             "original": [["agent", "Hello, how can I help?"], ["customer", "Where is my refund?"],
                          ["action", "Account has been pulled up."], ["customer", "thanks"]]}  # fmt: skip
    (folder / "abcd_sample.json").write_text(json.dumps([convo]), encoding="utf-8")


def write_maia(folder: Path) -> None:
    folder.mkdir(parents=True)
    dialogue = {
        "id": "en_de_#CLIENT-02#_default_2021-01-01-1",
        "dialog": {"Dropped conversation": 1.0, "Task Sucess": 2.0},
        "turns": [
            {"floor": "inbound", "text_src": ["Hallo.", "Geht nicht."], "text_mt": ["Hello.", "Does not work."],
             "Emotion": [2, 5]},
            {"floor": "outbound", "text_src": ["Sorry, let me check."], "text_mt": ["Entschuldigung."],
             "Emotion": [2]},
            {"floor": "inbound", "text_src": ["Danke", "ok"], "text_mt": ["Thanks", "ok"], "Emotion": [1]},
        ],
    }  # fmt: skip
    for name in sources.MAIA_FILES:
        # The same dialogue in two files, as MAIA really ships some: kept once.
        data = [dialogue] if name in ("pt_br_client_02", "pt_br_client_04") else []
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "realdata"
    write_twcs(root / "twcs")
    write_multiwoz(root / "multiwoz")
    write_abcd(root / "abcd")
    write_maia(root / "maia")
    return root


def test_twitter_time_becomes_utc_iso() -> None:
    assert sources.twitter_time("Tue Oct 31 21:45:10 +0000 2017") == "2017-10-31T21:45:10Z"
    assert sources.twitter_time("Wed Nov 01 08:00:00 +0100 2017") == "2017-11-01T07:00:00Z"


def test_twcs_threads_roles_times_and_cut_off_row(source: Path) -> None:
    threads = {c.id: c for c in sources.read_twcs(source / "twcs")}
    # Tweets 10, 11, 12 form one thread, named after its smallest tweet id and ordered by
    # time; the customer-only tweet 30 is not a support thread; the truncated last row is
    # skipped rather than crashing the read.
    assert sorted(threads) == ["twcs-10", "twcs-20"]
    t = threads["twcs-10"]
    assert [m.role for m in t.messages] == ["customer", "agent", "customer"]
    assert [m.at for m in t.messages] == [
        "2017-10-31T22:00:00Z",
        "2017-10-31T22:10:47Z",
        "2017-10-31T22:20:00Z",
    ]
    assert (
        t.raw[0]["created_at"] == "Tue Oct 31 22:00:00 +0000 2017"
        and t.raw[0]["thread"] == "twcs-10"
    )
    # Times with an offset sort by the instant: 08:00 +0100 (07:00Z) comes before 07:30Z.
    assert [m.role for m in threads["twcs-20"].messages] == ["customer", "agent"]


def test_sources_without_times_get_none_and_roles_are_mapped(source: Path) -> None:
    (mw,) = [
        c for c in sources.read_multiwoz(source / "multiwoz") if c.tags["multiwoz_split"] == "val"
    ]
    assert [m.role for m in mw.messages] == ["customer", "agent", "customer", "agent"]
    assert all(m.at is None for m in mw.messages)
    (ab,) = sources.read_abcd(source / "abcd")
    assert [m.role for m in ab.messages] == ["agent", "customer", "system", "customer"]
    assert ab.raw[2] == {
        "chat": "abcd-7",
        "turn": 2,
        "speaker": "action",
        "text": "Account has been pulled up.",
    }
    maia = sources.read_maia(source / "maia")
    assert maia[0].id == "maia-pt_br_client_02-en_de_CLIENT-02_default_2021-01-01-1"  # no "#"
    assert maia[0].status == "abandoned"
    # Customer turns are the English translation; agent turns the agent's own English.
    assert [m.text for m in maia[0].messages] == [
        "Hello. Does not work.",
        "Sorry, let me check.",
        "Thanks ok",
    ]
    # A turn with fewer labels than sentences leaves the extra sentence unlabelled.
    assert [s["emotion"] for s in maia[0].messages[2].sentences] == ["happiness", None]


def test_build_writes_loadable_canonical_jsonl(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "sets"
    manifest = build.build(source, out)
    assert manifest["sets"]["maia"]["duplicates_dropped"] == 1
    # val and test hold the same fixture dialogue: the first id (TEST1) is kept.
    assert manifest["sets"]["multiwoz"]["duplicates_dropped"] == 1
    assert manifest["sets"]["twcs"]["conversations"] == 2
    # None of our fixture ids is labelled, and the build says so instead of hiding it.
    assert manifest["labels_not_in_copy"]
    records = [json.loads(line) for line in (out / "twcs-all.jsonl").read_text().splitlines()]
    assert (
        records[0]["id"] == "twcs-10"
        and records[0]["started_at"] == "2017-10-31T22:00:00Z"
        and records[0]["tags"]["channel"] == "social"
    )
    mw = json.loads((out / "multiwoz-all.jsonl").read_text().splitlines()[0])
    assert "started_at" not in mw and all("at" not in m for m in mw["messages"])
    # MAIA's human labels, mapped: neutral, frustration -> negative, happiness -> positive.
    sentences = [json.loads(line) for line in (out / "sentences.jsonl").read_text().splitlines()]
    assert [(s["text"], s["label"]) for s in sentences] == [
        ("Hello.", "neutral"), ("Does not work.", "negative"), ("Thanks", "positive")]  # fmt: skip
    assert sentences[2]["previous_agent"] == "Sorry, let me check."
    raw = list(csv.DictReader((out / "raw" / "abcd.csv").open()))
    assert raw[2]["speaker"] == "action"
    # The real ingest loads every file, rejecting nothing, with NULL times where none exist.
    with convolab.open(tmp_path / "store.duckdb") as lab:
        report = lab.ingest(
            [out / f"{name}-all.jsonl" for name in build.SETS]
            + [out / "sentences-conversations.jsonl"]
        )
        assert report.rejected == 0
        times = dict(
            lab.sql(
                "SELECT id, started_at FROM conversations WHERE id IN (?, ?)",
                ["multiwoz-TEST1", "twcs-10"],
            ).iter_rows()
        )
        assert times["multiwoz-TEST1"] is None and times["twcs-10"] is not None


def test_build_is_deterministic(source: Path, tmp_path: Path) -> None:
    build.build(source, tmp_path / "a")
    build.build(source, tmp_path / "b")
    for f in sorted((tmp_path / "a").rglob("*.*")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes(), f


def read(name: str) -> list[dict[str, str]]:
    return build.read_tsv(REAL_DATA / name)


def test_committed_labels_are_consistent() -> None:
    labels = read("labels.tsv")
    selection = read("selection.tsv")
    assert [r["id"] for r in labels] == [r["id"] for r in selection]
    assert len({r["id"] for r in labels}) == len(labels) >= 300
    by_id = {r["id"]: r for r in labels}
    for r in labels:
        values = [r[c] for c in build.CRITERIA]
        assert set(values) <= {"0", "1"}, r["id"]
        assert r["split"] in ("tuning", "heldout") and r["source"] == r["id"].split("-")[0]
        # Positives carry a note in our own words; notes hold no quoted source text.
        assert bool(r["note"]) == ("1" in values), r["id"]
        assert '"' not in r["note"]
        if r["duplicate_of"] in by_id:
            assert [by_id[r["duplicate_of"]][c] for c in build.CRITERIA] == values, r["id"]
    assert all(r["split"] == "heldout" for r in labels if r["source"] == "maia")


def test_committed_sentence_labels_match_selection() -> None:
    chosen = read("sentence_selection.tsv")
    labelled = read("sentence_labels.tsv")
    assert [r["sentence_id"] for r in labelled] == [r["sentence_id"] for r in chosen]
    assert len(labelled) >= 400 and {r["label"] for r in labelled} <= set(build.SENTIMENTS)
    assert "maia" not in {r["source"] for r in chosen}


def test_relabel_covers_the_seeded_share() -> None:
    second = read("relabel.tsv")
    assert [r["id"] for r in second] == agreement.selection()
    assert len(second) == round(0.15 * sum(1 for r in read("labels.tsv") if not r["duplicate_of"]))


def test_wilson_interval_and_scores() -> None:
    lo, hi = real_quality.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert real_quality.wilson(0, 0) is None
    s = real_quality.prf(tp=3, fp=1, fn=2)
    assert (s["precision"], s["recall"], s["support"]) == (0.75, 0.6, 5)
    assert s["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    none_flagged = real_quality.prf(tp=0, fp=0, fn=4)
    assert none_flagged["precision"] is None and none_flagged["recall"] == 0.0


def test_macro_f1_over_present_classes() -> None:
    gold = ["negative", "negative", "neutral", "positive"]
    pred = ["negative", "neutral", "neutral", "neutral"]
    mf1, per = real_quality.macro_f1(gold, pred)
    # negative: P 1, R 0.5 -> 2/3; neutral: P 1/3, R 1 -> 0.5; positive: 0; ambiguous absent.
    assert mf1 == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)
    assert per["negative"]["recall"] == 0.5


def test_criteria_without_a_definition_are_not_scored() -> None:
    records = [{"id": "a", "ground_truth": ["churn_intent"]}, {"id": "b", "ground_truth": []}]
    scores = real_quality.score_criteria(records, {"asked_for_human": {"b"}}, ["asked_for_human"])
    assert scores["churn_intent"] is None
    assert scores["asked_for_human"]["fp"] == 1 and scores["asked_for_human"]["precision"] == 0.0
    assert "not defined" in real_quality.criteria_table("t", 2, scores)


def test_kappa() -> None:
    assert agreement.kappa([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert agreement.kappa([1, 1, 0, 0], [1, 0, 1, 0]) == 0.0
    assert agreement.kappa([0, 0], [0, 0]) is None
