"""A failing network in the twilio backend: one LiveBackendError, one CLI line, a message in the panel.

Real sockets on 127.0.0.1: a port nobody listens on (connection refused) and a
server that accepts and never answers (timeout). Nothing leaves the machine.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import twilio  # noqa: F401 - the real SDK; missing, these tests fail

from convolab.errors import LiveBackendError
from convolab.live import twilio as twilio_backend
from convolab.live.twilio import TwilioCallControl

CREDENTIALS = {"account_sid": "AC" + "0" * 32, "auth_token": "not-a-real-token"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connecting is refused


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _control(lab, api_base: str, **kwargs) -> TwilioCallControl:
    control = TwilioCallControl(lab, api_base=api_base, **CREDENTIALS, **kwargs)
    control.register_call("CF" + "1" * 32, caller_call_sid="CA" + "1" * 32, ai_call_sid="CA" + "2" * 32,
                          contact="+15555550123", call_id="call-1")
    return control


def test_an_unreachable_twilio_is_a_live_backend_error_and_audited(lab):
    control = _control(lab, f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(LiveBackendError, match="^cannot reach Twilio: ") as caught:
        control.refresh()
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)
    for action, args in (("transfer", ("+15555550100",)), ("end", ()), ("listen_in", ())):
        with pytest.raises(LiveBackendError, match="cannot reach Twilio") as caught:
            getattr(control, action)("call-1", *args)
        assert caught.value.call_id == "call-1"
    results = lab.list_audit(target="call-1")["result"].to_list()
    assert len(results) == 3 and all(r.startswith("error: cannot reach Twilio") for r in results)
    assert control.call("call-1").status == "in_progress"  # nothing happened, and nothing pretends it did


def test_a_twilio_that_never_answers_times_out(lab, silent_server, monkeypatch):
    monkeypatch.setattr(twilio_backend, "REQUEST_TIMEOUT_S", 0.5)
    control = _control(lab, silent_server)
    with pytest.raises(LiveBackendError, match=r"^Twilio did not answer within 0.5 s \(network timeout\)$"):
        control.end("call-1")


def test_an_unreachable_coaching_webhook_is_a_live_backend_error(lab, monkeypatch, silent_server):
    monkeypatch.setenv("CONVOLAB_COACHING_SECRET", "s3cret")
    refused = _control(lab, f"http://127.0.0.1:{_closed_port()}",
                       coaching_url=f"http://127.0.0.1:{_closed_port()}/coach")
    with pytest.raises(LiveBackendError, match="^cannot reach the coaching webhook: "):
        refused.add_coaching("call-1", "slow down")
    monkeypatch.setattr(twilio_backend, "REQUEST_TIMEOUT_S", 0.5)
    silent = _control(lab, silent_server, coaching_url=silent_server + "/coach")
    with pytest.raises(LiveBackendError, match="^the coaching webhook did not answer within 0.5 s"):
        silent.add_coaching("call-1", "slow down")


def test_live_calls_without_network_is_one_line_and_non_zero(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TWILIO_ACCOUNT_SID": CREDENTIALS["account_sid"],
           "TWILIO_AUTH_TOKEN": CREDENTIALS["auth_token"],
           # every request goes to a proxy port nobody listens on: "no network", without touching it
           "HTTPS_PROXY": f"http://127.0.0.1:{_closed_port()}", "NO_PROXY": ""}
    done = subprocess.run([sys.executable, "-m", "convolab", "live", "calls", "--backend", "twilio"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: cannot reach Twilio: ")


def test_the_live_panel_shows_a_failed_action_to_the_supervisor(lab, monkeypatch):
    from convolab.widgets.live_panel import LiveCallPanel

    monkeypatch.setenv("CONVOLAB_COACHING_SECRET", "s3cret")
    control = _control(lab, f"http://127.0.0.1:{_closed_port()}",
                       coaching_url=f"http://127.0.0.1:{_closed_port()}/coach")
    panel = LiveCallPanel(control, refresh_s=0)
    try:
        panel.call_picker.value = "call-1"
        panel.action_picker.value = "transfer"
        panel.destination.value = "+15555550100"
        panel.run_button.click()
        panel.confirm_button.click()
        assert panel.status_text().startswith("Transfer failed for call-1: cannot reach Twilio: ")
        assert "convolab-live-error" in panel.status.value
        panel.action_picker.value = "end"
        panel.run_button.click()
        panel.confirm_button.click()
        assert panel.status_text().startswith("End failed for call-1: cannot reach Twilio")
        panel.coaching.value = "Offer the refund"
        panel.coach_button.click()
        assert panel.status_text().startswith("Add Coaching failed for call-1: cannot reach the coaching webhook")
        assert control.call("call-1").status == "in_progress"
    finally:
        panel.close()
