"""The live-calls panel offers only allowed actions, confirms End/Transfer and escapes conversation text."""

from __future__ import annotations

import pytest

import convolab.live
from convolab.live.base import LiveCall, LiveMessage, _now
from convolab.widgets.live_panel import LiveCallPanel
from tests.fakes import keyword_scorer


@pytest.fixture
def panel(lab):
    c = convolab.live.connect("simulated", lab=lab, calls=0, scorer=keyword_scorer, autostart=False,
                              post_call_scoring=False)
    for n in (1, 2):
        c._calls[f"call-{n}"] = LiveCall(id=f"call-{n}", contact="<b>+15555550123</b>")
    c.call("call-1").messages.append(LiveMessage("customer", "<script>alert(1)</script>", _now(),
                                                 emotions=["anger"]))
    p = LiveCallPanel(c, refresh_s=0)
    yield p
    p.close()
    c.close()


def test_menu_offers_only_allowed_actions(panel):
    panel.call_picker.value = "call-1"
    assert [v for _, v in panel.action_picker.options] == ["listen_in", "take_over", "transfer", "enqueue", "end"]
    panel.action_picker.value = "take_over"
    panel.run_button.click()
    assert panel.control.call("call-1").handler == "supervisor"
    assert [v for _, v in panel.action_picker.options] == ["hand_back", "transfer", "enqueue", "end"]
    assert panel.coach_button.disabled
    assert 'data-handler="supervisor"' in panel.calls_html.value


def test_end_needs_confirmation(panel):
    panel.call_picker.value = "call-2"
    panel.action_picker.value = "end"
    panel.run_button.click()
    assert panel.control.call("call-2").status == "in_progress"
    assert panel.confirm_box.layout.display == "flex"
    panel.cancel_button.click()
    assert panel.control.call("call-2").status == "in_progress"
    panel.action_picker.value = "end"
    panel.run_button.click()
    panel.confirm_button.click()
    assert panel.control.call("call-2").status == "completed"
    assert panel.action_picker.options == ()
    assert 'data-status="completed"' in panel.calls_html.value


def test_bad_transfer_number_is_shown_not_raised(panel):
    panel.call_picker.value = "call-1"
    panel.action_picker.value = "transfer"
    panel.destination.value = "12345"
    panel.run_button.click()
    panel.confirm_button.click()
    assert "E.164" in panel.status.value
    assert panel.control.call("call-1").status == "in_progress"


def test_coaching_and_escaping(panel):
    panel.call_picker.value = "call-1"
    assert "<script>" not in panel.transcript_html.value and "&lt;script&gt;" in panel.transcript_html.value
    assert "anger" in panel.transcript_html.value
    assert "<b>+1555" not in panel.calls_html.value
    panel.coaching.value = "Offer a <b>credit</b>"
    panel.coach_button.click()
    assert panel.control.call("call-1").coaching[0]["text"] == "Offer a <b>credit</b>"
    assert "Offer a" not in panel.transcript_html.value
