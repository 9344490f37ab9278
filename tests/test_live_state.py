"""Every live-call action from every call state: allowed ones change state, others are refused and audited."""

from __future__ import annotations

import pytest

import convolab
import convolab.live
from convolab.errors import ActionNotAllowed
from convolab.live.base import ACTIONS, LiveCall
from tests.fakes import keyword_scorer

STATES = {
    # name: (status, handler, listening)
    "ai": ("in_progress", "ai", False),
    "ai_listening": ("in_progress", "ai", True),
    "supervisor": ("in_progress", "supervisor", True),
    "human": ("in_progress", "human", False),
    "queued": ("queued", "queue", False),
    "transferred": ("transferred", "human", False),
    "completed": ("completed", "ai", False),
}

ALLOWED = {
    "ai": {"listen_in", "take_over", "transfer", "enqueue", "end", "add_coaching"},
    "ai_listening": {"take_over", "transfer", "enqueue", "end", "add_coaching"},
    "supervisor": {"hand_back", "transfer", "enqueue", "end"},
    "human": set(),
    "queued": set(),
    "transferred": set(),
    "completed": set(),
}

# State after each allowed action: (status, handler, listening)
AFTER = {
    "listen_in": ("in_progress", "ai", True),
    "take_over": ("in_progress", "supervisor", True),
    "hand_back": ("in_progress", "ai", True),
    "transfer": ("transferred", "human", None),
    "enqueue": ("queued", "queue", None),
    "end": ("completed", None, None),
    "add_coaching": ("in_progress", "ai", None),
}

ARGS = {"transfer": ("+15555550100",), "enqueue": ("billing",), "add_coaching": ("Offer the refund.",)}


@pytest.fixture
def center(lab):
    c = convolab.live.connect("simulated", lab=lab, calls=0, scorer=keyword_scorer, autostart=False,
                              post_call_scoring=False, actor="sup-1")
    yield c
    c.close()


def put(center, state: str) -> LiveCall:
    status, handler, listening = STATES[state]
    call = LiveCall(id=f"call-{state}", contact="+15555550123", status=status, handler=handler,
                    listening=listening, previous_handler="ai" if handler == "supervisor" else None)
    center._calls[call.id] = call
    return call


@pytest.mark.parametrize("state", list(STATES))
def test_allowed_actions_menu(center, state):
    call = put(center, state)
    assert set(center.allowed_actions(call.id)) == ALLOWED[state]


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in STATES for a in ACTIONS])
def test_action_from_state(center, lab, state, action):
    call = put(center, state)
    do = getattr(center, action)
    if action in ALLOWED[state]:
        do(call.id, *ARGS.get(action, ()))
        status, handler, listening = AFTER[action]
        assert call.status == status
        if handler is not None:
            assert call.handler == handler
        if listening is not None:
            assert call.listening is listening
        expected = "ok"
    else:
        with pytest.raises(ActionNotAllowed) as info:
            do(call.id, *ARGS.get(action, ()))
        assert info.value.call_id == call.id and info.value.action == action
        assert str(info.value)  # a reason a person can read
        assert (call.status, call.handler) == STATES[state][:2]
        expected = "refused"
    audit = lab.sql("SELECT actor, action, target, result, details FROM audit_log")
    assert audit.height == 1
    row = audit.row(0, named=True)
    assert row["action"] == f"live.{action}" and row["target"] == call.id and row["actor"] == "sup-1"
    assert row["result"].startswith(expected)


@pytest.mark.parametrize("to", ["5555550100", "+0123", "+1 555 555 0100", "tel:+15555550100", "", "+1234567890123456"])
def test_transfer_rejects_non_e164(center, lab, to):
    call = put(center, "ai")
    with pytest.raises(ActionNotAllowed, match="E.164"):
        center.transfer(call.id, to)
    assert call.status == "in_progress"
    assert lab.sql("SELECT result FROM audit_log")["result"][0].startswith("refused")


def test_transfer_allow_list_blocks_premium_destinations(lab):
    c = convolab.live.connect("simulated", lab=lab, calls=0, scorer=keyword_scorer, autostart=False,
                              post_call_scoring=False, allow_prefixes=["+1"])
    put(c, "ai")
    with pytest.raises(ActionNotAllowed, match="allowed prefixes"):
        c.transfer("call-ai", "+882345678901")
    c.transfer("call-ai", "+15555550100")
    assert c.call("call-ai").status == "transferred"
    assert c.call("call-ai").transferred_to == "+15555550100"


def test_unknown_call_is_refused_and_audited(center, lab):
    with pytest.raises(KeyError, match="nope"):
        center.end("nope")
    assert lab.sql("SELECT result FROM audit_log")["result"][0].startswith("refused")


def test_hand_back_returns_to_ai_and_coaching_works_again(center):
    call = put(center, "ai")
    center.listen_in(call.id)
    center.take_over(call.id)
    with pytest.raises(ActionNotAllowed, match="muted"):
        center.add_coaching(call.id, "note")
    center.hand_back(call.id)
    assert call.handler == "ai"
    center.add_coaching(call.id, "note")
