"""Criteria that match by meaning: ``customer_means(:exemplars)`` with the shipped MiniLM.

Every sentence here was written for these tests (none comes from a data set).
"""

from __future__ import annotations

import json

import pytest

from convolab.errors import CriteriaError
from convolab.flags import Criterion, load_criteria, run_flags
from convolab.flags.criteria import _compile
from convolab.flags.embeddings import SEGMENTS_SQL, embed_store, model_id_of
from convolab.flags.meaning import Exemplars, parse_exemplars


def chat(cid: str, *turns: tuple[str, str]) -> dict:
    """A web conversation without times: (role, text) turns."""
    return {"id": cid, "flow": "Support", "platform": "web", "status": "completed",
            "messages": [{"role": r, "text": t} for r, t in turns]}


def _built_in(name: str) -> Criterion:
    return next(c for c in load_criteria() if c.name == name)


def test_customer_means_compiles_to_a_subquery_with_every_value_bound():
    ex = {"like": ["I want a manager'); DROP TABLE flags; --"], "unlike": ["my neighbour's manager"],
          "cue": ["manager"], "boost": 0.2}
    c = Criterion("human", "customer_means(:ex) >= :t and turns > 1", params={"ex": ex, "t": 0.6})
    comp = _compile(c)
    key = parse_exemplars(ex, criterion="human", param="ex").key
    # SQL snapshot: a fixed fragment over the meaning table; the key and threshold are ? params.
    assert comp.where == (
        "coalesce((SELECT mm.score FROM _flag_meaning mm WHERE mm.key = ?"
        " AND mm.conversation_id = f.conversation_id), 0) >= ? AND f.turns > 1"
    )
    assert comp.where_params == [key, 0.6]
    assert comp.meanings == [Exemplars(tuple(ex["like"]), tuple(ex["unlike"]), 0.0, r"(?i)\b(manager)\b", 0.2)]
    for sql in (comp.where, comp.reason, comp.evidence):
        assert "DROP" not in sql and "neighbour" not in sql
    assert key in comp.evidence_params and key in comp.reason_params
    assert r"(?i)\b(manager)\b" in comp.patterns  # the cue is validated like a keyword pattern


@pytest.mark.parametrize(("params", "message"), [
    ({"ex": ["just", "a", "list"], "t": 0.5}, "must be a mapping with a 'like' list"),
    ({"t": 0.5}, "not defined in params"),
    ({"ex": {"like": []}, "t": 0.5}, "'like' must be a list of phrases"),
    ({"ex": {"like": ["ok", ""]}, "t": 0.5}, "must be non-empty text"),
    ({"ex": {"like": ["ok"], "near": ["x"]}, "t": 0.5}, "unknown key"),
    ({"ex": {"like": ["ok"], "margin": 3}, "t": 0.5}, "margin must be a number"),
])
def test_bad_exemplars_are_rejected_with_the_criterion_named(params, message):
    with pytest.raises(CriteriaError) as info:
        _compile(Criterion("means", "customer_means(:ex) >= :t", params=params))
    assert info.value.criterion == "means" and message in str(info.value)


def test_exemplars_cannot_vary_per_flow_or_appear_as_a_number():
    ex = {"like": ["hello there"]}
    with pytest.raises(CriteriaError, match="cannot override exemplar"):
        _compile(Criterion("m", "customer_means(:ex) >= 0.5", params={"ex": ex},
                           flow_params={"Sales": {"ex": {"like": ["bye"]}}}))
    with pytest.raises(CriteriaError, match="use it as customer_means"):
        _compile(Criterion("m", "turns > :ex", params={"ex": ex}))


def test_customer_sentences_are_split_cleaned_and_embedded_once(lab, write_jsonl):
    lab.ingest(write_jsonl([
        chat("a", ("customer", "@shopco Hello there. I need a manager to phone me! https://x.example/1"),
             ("agent", "Would you like to speak to a manager?")),
        chat("b", ("customer", "Hello there."), ("customer", "!!!")),
    ]))
    segments = lab.sql(f"SELECT conversation_id, seq, segment FROM ({SEGMENTS_SQL}) ORDER BY 1, 2, 3").rows()  # noqa: S608
    assert segments == [("a", 0, "Hello there."), ("a", 0, "I need a manager to phone me!"), ("b", 0, "Hello there.")]
    first = embed_store(lab)
    assert first["embedded"] == 2  # "Hello there." once; agent text and "!!!" never
    assert embed_store(lab)["embedded"] == 0  # incremental: nothing new
    (dims,) = lab.execute("SELECT DISTINCT len(embedding) FROM text_embeddings WHERE model_id = ?",
                          [model_id_of()]).fetchone()
    assert dims == 384


POSITIVE = {
    "asked_for_human": "Could you get a manager to ring me this afternoon?",
    "legal_or_complaint": "If this isn't sorted by Friday I'm taking it to the Better Business Bureau.",
    "churn_intent": "I'm closing my account and moving to a different bank.",
}
NEGATIVE = [
    # past events
    "A colleague of yours phoned me last week about the same thing.",
    "I already cancelled the old plan back in March.",
    # third parties
    "My brother wants to cancel his phone contract with his old company.",
    "My neighbour took her landlord to court last year.",
    # questions about a policy
    "What would happen to my saved files if I cancelled?",
    "Is there a charge for speaking to someone on the phone?",
    # the same words in another sense
    "Can you cancel tonight's table for two?",
    "I want to report a typo on your website.",
]


@pytest.fixture
def meaning_lab(lab, write_jsonl):
    records = [chat(f"pos-{name}", ("agent", "Hi, how can I help?"), ("customer", "Hello."), ("customer", text))
               for name, text in POSITIVE.items()]
    records += [chat(f"neg-{i}", ("agent", "Hi, how can I help?"), ("customer", text)) for i, text in enumerate(NEGATIVE)]
    # Agent text never counts, however close it is to an exemplar.
    records.append(chat("agent-only", ("agent", "Would you like me to transfer you to a manager?"),
                        ("agent", "You can cancel your subscription and close your account at any time."),
                        ("agent", "You may also file a formal complaint with the regulator."),
                        ("customer", "No thanks, that's all.")))
    lab.ingest(write_jsonl(records))
    return lab


def test_meaning_criteria_fire_on_requests_not_on_past_events_third_parties_or_questions(meaning_lab):
    criteria = [_built_in(name) for name in POSITIVE]
    counts = run_flags(meaning_lab, criteria)
    flagged = {tuple(r) for r in meaning_lab.execute("SELECT conversation_id, criterion FROM flags").fetchall()}
    assert flagged == {(f"pos-{name}", name) for name in POSITIVE}, flagged
    assert counts == dict.fromkeys(POSITIVE, 1)


def test_evidence_names_the_message_and_the_exemplar(meaning_lab):
    churn = _built_in("churn_intent")
    run_flags(meaning_lab, [churn])
    (row,) = meaning_lab.list_flags(criterion="churn_intent").to_dicts()
    meaning = json.loads(row["evidence"])["meaning"]
    assert meaning["seq"] == 2 and meaning["excerpt"] == POSITIVE["churn_intent"]
    assert meaning["exemplar"] in churn.params["exemplars"]["like"]
    assert 0 < meaning["similarity"] <= 1 and meaning["score"] >= churn.params["similarity"]
    assert f'in message 2: "{POSITIVE["churn_intent"]}" (nearest example "{meaning["exemplar"]}"' in row["reason"]


def test_an_unlike_exemplar_vetoes_its_near_neighbours(meaning_lab):
    like = {"like": ["I want to cancel my phone contract", "I'm closing my account and leaving"]}
    bare = Criterion("leave", "customer_means(:ex) >= 0.45", params={"ex": like})
    vetoed = Criterion("leave", "customer_means(:ex) >= 0.45",
                       params={"ex": {**like, "unlike": ["my brother wants to cancel his contract"]}})
    run_flags(meaning_lab, [bare])
    before = set(meaning_lab.list_flags(criterion="leave")["conversation_id"].to_list())
    run_flags(meaning_lab, [vetoed])
    after = set(meaning_lab.list_flags(criterion="leave")["conversation_id"].to_list())
    assert "neg-2" in before and "neg-2" not in after  # the third party is vetoed
    assert "pos-churn_intent" in after


def test_meaning_scores_follow_new_data_and_exemplar_changes(meaning_lab, write_jsonl):
    human = _built_in("asked_for_human")
    assert run_flags(meaning_lab, [human]) == {"asked_for_human": 1}
    meaning_lab.ingest(write_jsonl([chat("late", ("customer", "Please put me through to a real person now."))],
                                   name="late.jsonl"))
    assert run_flags(meaning_lab, [human]) == {"asked_for_human": 2}
    narrow = human.with_params(exemplars={"like": ["Please send a plumber to my flat"]})
    assert run_flags(meaning_lab, [narrow]) == {"asked_for_human": 0}
