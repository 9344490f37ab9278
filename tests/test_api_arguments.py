"""Wrong argument types to the public API are a clear InvalidArgument, not a database or attribute error."""

from __future__ import annotations

import pytest

from convolab.errors import ConversationNotFound, InvalidArgument
from convolab.flags import run_flags
from convolab.ingest import ingest

from .conftest import conversation

CALLS = {
    "conversation(123)": lambda lab: lab.conversation(123),
    "conversation(None)": lambda lab: lab.conversation(None),
    "conversation(b'c-1')": lambda lab: lab.conversation(b"c-1"),
    "transcript(5)": lambda lab: lab.transcript(5),
    "functions([])": lambda lab: lab.functions([]),
    "export(format='pdf')": lambda lab: lab.export("c-1", format="pdf"),
    "export(format=1)": lambda lab: lab.export("c-1", format=1),
    "export(7)": lambda lab: lab.export(7),
    "delete(None)": lambda lab: lab.delete(None),
    "delete(['c-1'])": lambda lab: lab.delete(["c-1"]),
    "has_conversation(5)": lambda lab: lab.has_conversation(5),
    "list_rejected(limit='a')": lambda lab: lab.list_rejected(limit="a"),
    "unreviewed_flags(limit=-1)": lambda lab: lab.unreviewed_flags(limit=-1),
    "list_audit(limit='x')": lambda lab: lab.list_audit(limit="x"),
    "list_audit(target=3)": lambda lab: lab.list_audit(target=3),
    "list_flags(conversation_id=5)": lambda lab: lab.list_flags(conversation_id=5),
    "list_conversations(limit='x')": lambda lab: lab.list_conversations(limit="x"),
    "ingest(lab, 42)": lambda lab: ingest(lab, 42),
    "ingest(lab, [None])": lambda lab: ingest(lab, [None]),
    "ingest(format=5)": lambda lab: lab.ingest("x.jsonl", format=5),
    "ingest(mapping=[...])": lambda lab: lab.ingest("x.jsonl", mapping=["text"]),
    "ingest(progress=1)": lambda lab: lab.ingest("x.jsonl", progress=1),
    "run_flags(lab, 'x')": lambda lab: run_flags(lab, "x"),
    "run_flags(lab, [1])": lambda lab: run_flags(lab, [1]),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_bad_arguments_are_invalid_argument(lab, write_jsonl, call):
    lab.ingest(write_jsonl([conversation("c-1")]))
    with pytest.raises(InvalidArgument) as caught:
        CALLS[call](lab)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
    assert lab.has_conversation("c-1")  # nothing was deleted or changed on the way


def test_a_well_typed_unknown_id_is_still_not_found(lab):
    with pytest.raises(ConversationNotFound):
        lab.conversation("nope")
    with pytest.raises(KeyError):
        lab.delete("nope")
