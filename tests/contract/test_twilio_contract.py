"""The twilio backend's requests, sent by the real SDK, against Prism's mock of Twilio's spec."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ET

import httpx
import pytest

import convolab
import convolab.live
from convolab.errors import ActionNotAllowed, LiveBackendError

pytestmark = pytest.mark.contract

ACCOUNT = "AC" + "a" * 32
TOKEN = "tok-" + "9f3e" * 7  # a distinctive fake secret to look for in logs
PASSED = "The request passed the validation rules"


def sid(prefix: str, ch: str) -> str:
    return prefix + ch * 32


@pytest.fixture
def webhook():
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    return received, httpx.MockTransport(handler)


@pytest.fixture
def lab():
    with convolab.open(":memory:") as lab:
        yield lab


@pytest.fixture
def control(prism, lab, webhook, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("CONVOLAB_COACHING_SECRET", "coach-secret")
    c = convolab.live.connect("twilio", lab=lab, api_base=prism.url, supervisor="client:sup-ana",
                              caller_id="+15005550006", coaching_url="http://agent.internal/control",
                              coaching_transport=webhook[1], allow_prefixes=["+1"], actor="sup-ana")
    prism.mark()
    return c


def register(control, ch: str):
    return control.register_call(sid("CF", ch), caller_call_sid=sid("CA", ch), ai_call_sid=sid("CA", "0"),
                                 contact="+15555550123")


def assert_all_passed(prism, control, n: int) -> None:
    log = prism.since_mark()
    assert len(control.http.requests) == n
    assert all(r.status < 400 for r in control.http.requests), [(r.url, r.status) for r in control.http.requests]
    assert log.count(PASSED) == n, log[-3000:]
    assert "UNPROCESSABLE_ENTITY" not in log


def test_listen_take_over_hand_back(prism, control):
    call = register(control, "b")
    control.listen_in(call.id)
    control.take_over(call.id)
    control.hand_back(call.id)
    sent = control.http.requests
    add = sent[0]
    assert add.method == "POST" and add.url.endswith(f"/Conferences/{sid('CF', 'b')}/Participants.json")
    assert add.data["To"] == "client:sup-ana" and add.data["Muted"] == "true" and add.data["Beep"] == "false"
    sup = call.extra["supervisor_call_sid"]
    assert sent[1].url.endswith(f"/Participants/{sup}.json") and sent[1].data == {"Muted": "false"}
    assert sent[2].url.endswith(f"/Participants/{sid('CA', '0')}.json") and sent[2].data == {"Hold": "true"}
    assert sent[3].data == {"Hold": "false"} and sent[4].data == {"Muted": "true"}
    assert_all_passed(prism, control, 5)
    assert call.handler == "ai"


def test_take_over_without_listening_adds_supervisor_unmuted(prism, control):
    call = register(control, "c")
    control.take_over(call.id)
    assert control.http.requests[0].data["Muted"] == "false"
    assert control.http.requests[1].data == {"Hold": "true"}
    assert_all_passed(prism, control, 2)


def test_transfer_dials_with_escaped_twiml(prism, control):
    call = register(control, "d")
    control.transfer(call.id, "+15555550100")
    sent = control.http.requests[0]
    assert sent.url.endswith(f"/Calls/{sid('CA', 'd')}.json")
    root = ET.fromstring(sent.data["Twiml"])
    assert root.tag == "Response" and root.find("Dial").text == "+15555550100"
    assert_all_passed(prism, control, 1)
    assert call.status == "transferred"


def test_transfer_refused_before_any_request(prism, control, lab):
    call = register(control, "e")
    with pytest.raises(ActionNotAllowed, match="allowed prefixes"):
        control.transfer(call.id, "+882345678901")
    with pytest.raises(ActionNotAllowed, match="E.164"):
        control.transfer(call.id, "<Play>http://evil</Play>")
    assert control.http.requests == []


def test_enqueue_queue_name_and_workflow(prism, control):
    a, b = register(control, "f"), register(control, "1")
    control.enqueue(a.id, "billing & <vip>")
    control.enqueue(b.id, "WW" + "2" * 32)
    first, second = control.http.requests
    assert "billing &amp; &lt;vip&gt;" in first.data["Twiml"]  # escaped by VoiceResponse
    assert ET.fromstring(first.data["Twiml"]).find("Enqueue").text == "billing & <vip>"
    assert ET.fromstring(second.data["Twiml"]).find("Enqueue").get("workflowSid") == "WW" + "2" * 32
    assert_all_passed(prism, control, 2)


def test_end_completes_the_conference(prism, control):
    call = register(control, "3")
    control.end(call.id)
    sent = control.http.requests[0]
    assert sent.url.endswith(f"/Conferences/{sid('CF', '3')}.json") and sent.data == {"Status": "completed"}
    assert_all_passed(prism, control, 1)
    assert call.status == "completed"
    with pytest.raises(ActionNotAllowed):
        control.listen_in(call.id)


def test_coaching_goes_to_the_agent_webhook_signed(prism, control, webhook):
    call = register(control, "4")
    control.add_coaching(call.id, "Offer the loyalty discount")
    assert control.http.requests == []  # nothing to Twilio: the caller never hears it
    (request,) = webhook[0]
    body = request.content
    expected = "sha256=" + hmac.new(b"coach-secret", body, hashlib.sha256).hexdigest()
    assert request.headers["X-Convolab-Signature"] == expected
    assert json.loads(body)["text"] == "Offer the loyalty discount"
    assert call.messages == []


def test_invalid_request_is_refused_by_the_mock(prism, control, lab):
    with pytest.raises(LiveBackendError) as info:
        control.update_call(sid("CA", "5"), status="bogus")
    assert info.value.status == 422
    assert "Status" in str(info.value) and "canceled, completed" in str(info.value)
    assert "UNPROCESSABLE_ENTITY" in prism.since_mark()
    assert lab.sql("SELECT result FROM audit_log")["result"][0].startswith("error: Twilio answered 422")


def test_auth_token_never_in_audit_or_logs(prism, control, lab, caplog):
    caplog.set_level(logging.DEBUG)
    call = register(control, "6")
    control.listen_in(call.id)
    control.take_over(call.id)
    control.end(call.id)
    with pytest.raises(LiveBackendError):
        control.update_call(sid("CA", "6"), status="bogus")
    rows = lab.sql("SELECT * FROM audit_log").write_csv()
    assert TOKEN not in rows and "coach-secret" not in rows
    assert TOKEN not in caplog.text and TOKEN not in repr(control)
    assert all(TOKEN not in json.dumps(r.__dict__) for r in control.http.requests)


def test_api_key_credentials(prism, lab, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "7" * 32)
    monkeypatch.setenv("TWILIO_API_SECRET", "key-secret")
    c = convolab.live.connect("twilio", lab=lab, api_base=prism.url)
    call = register(c, "8")
    c.end(call.id)
    assert c.http.requests[0].status == 200


def test_missing_credentials_say_what_to_set(monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LiveBackendError, match="TWILIO_ACCOUNT_SID"):
        convolab.live.connect("twilio")


def test_a_call_that_ends_on_twilios_side_is_saved_like_every_finished_call(prism, control, lab):
    call = register(control, "6")
    control.push_message(call.id, "agent", "Thanks for calling, how can I help?")
    control.push_message(call.id, "customer", "My internet has been down for two days.")
    ended = control.call_ended(call.id)
    assert ended.status == "completed" and control.http.requests == []  # nothing to ask Twilio
    saved = lab.sql("SELECT backend, status, contact FROM live_calls WHERE id = ?", [call.id])
    assert saved.rows() == [("twilio", "completed", "+15555550123")]
    assert lab.transcript(call.id)["text"].to_list() == ["Thanks for calling, how can I help?",
                                                          "My internet has been down for two days."]
    assert control.call_ended(call.id, status="failed").status == "completed"  # already over: left as is
    with pytest.raises(ValueError, match="status must be"):
        control.call_ended(call.id, status="vanished")


def test_a_call_a_supervisor_ends_is_saved(prism, control, lab):
    call = register(control, "7")
    control.end(call.id)
    assert lab.sql("SELECT backend, status FROM live_calls WHERE id = ?", [call.id]).rows() == [
        ("twilio", "completed")]
    assert lab.has_conversation(call.id)
