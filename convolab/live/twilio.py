"""The ``twilio`` backend: AI calls in Twilio conferences, driven with the official SDK.

Each AI call is a conference with two legs: the caller and the AI agent (a
media-stream or SIP leg). Actions map onto the REST API:

- listen_in: add the supervisor (a number or ``client:identity``) as a participant,
  ``muted=True``, ``beep="false"``;
- take_over: unmute the supervisor (adding them first if needed) and hold the AI leg;
- hand_back: un-hold the AI leg and mute the supervisor again;
- transfer: update the caller's call with TwiML ``<Dial>`` to the destination;
- enqueue: update the caller's call with TwiML ``<Enqueue>`` (queue name or
  TaskRouter workflow sid);
- end: set the conference status to ``completed`` (hangs up every leg);
- add_coaching: POST the note to the AI agent's control webhook, signed with
  HMAC-SHA256 (header ``X-Convolab-Signature``); it never reaches the caller.

Credentials come only from the environment and are never logged or audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convolab import settings
from convolab._deps import require
from convolab.errors import LiveBackendError
from convolab.live.base import CallControl, LiveCall, LiveMessage, _now

if TYPE_CHECKING:
    from convolab.store import Workbench

require("twilio")  # a missing SDK names the extra that installs it
from twilio.base.exceptions import TwilioException, TwilioRestException  # noqa: E402
from twilio.http.http_client import TwilioHttpClient  # noqa: E402
from twilio.rest import Client  # noqa: E402
from twilio.twiml.voice_response import VoiceResponse  # noqa: E402

__all__ = ["RecordedRequest", "RewritingHttpClient", "TwilioCallControl", "coaching_signature"]

TWILIO_API = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Convolab-Signature"
#: Seconds a Twilio or coaching-webhook request may take before it counts as failed.
REQUEST_TIMEOUT_S = 10.0


@dataclass
class RecordedRequest:
    """A request the SDK sent (credentials left out), for tests and debugging."""

    method: str
    url: str
    params: dict[str, Any]
    data: dict[str, Any]
    status: int
    response_text: str = ""


class RewritingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending ``https://api.twilio.com`` requests to ``api_base`` instead.

    It exists so contract tests can point the real SDK at a local mock of the spec;
    it also records each request (method, url, parameters; never the auth header).
    """

    def __init__(self, api_base: str = TWILIO_API, **kwargs: Any) -> None:
        # Without a timeout a request to a black-holed network would wait for ever.
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/")
        self.requests: list[RecordedRequest] = []

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: Any = None,
                allow_redirects: bool = False) -> Any:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API):]
        response = super().request(method, url, params=params, data=data, headers=headers,
                                    auth=auth, timeout=timeout, allow_redirects=allow_redirects)
        self.requests.append(RecordedRequest(method.upper(), url, dict(params or {}),
                                             dict(data or {}), response.status_code,
                                             response.text or ""))
        return response


def coaching_signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the webhook body, as sent in ``X-Convolab-Signature``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class TwilioCallControl(CallControl):
    """Live calls in Twilio conferences.

    Parameters
    ----------
    lab
        Store for the audit log.
    account_sid, auth_token, api_key, api_secret
        Default to ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_API_KEY``,
        ``TWILIO_API_SECRET``. Either token or key + secret is needed.
    supervisor
        Where the supervisor leg rings: E.164 number or ``client:identity``
        (default ``$CONVOLAB_SUPERVISOR`` or ``client:supervisor``).
    caller_id
        The ``From`` of supervisor legs (default ``$TWILIO_CALLER_ID``).
    coaching_url
        The AI agent's control webhook (default ``$CONVOLAB_COACHING_URL``); the
        signing secret comes from ``$CONVOLAB_COACHING_SECRET``.
    api_base
        Only for tests: where the SDK sends its requests (e.g. a local Prism mock).
    coaching_transport
        Only for tests: an ``httpx`` transport for the webhook.
    """

    backend = "twilio"

    def __init__(
        self,
        lab: Workbench | None = None,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        supervisor: str | None = None,
        caller_id: str | None = None,
        coaching_url: str | None = None,
        api_base: str = TWILIO_API,
        coaching_transport: Any = None,
        actor: str | None = None,
        allow_prefixes: Sequence[str] | None = None,
        scorer: Any = None,
    ) -> None:
        super().__init__(lab, actor=actor, allow_prefixes=allow_prefixes)
        env = settings.current()
        account_sid = account_sid or env.twilio_account_sid
        auth_token = auth_token or env.twilio_auth_token
        api_key = api_key or env.twilio_api_key
        api_secret = api_secret or env.twilio_api_secret
        if not account_sid:
            raise LiveBackendError("set TWILIO_ACCOUNT_SID (and TWILIO_AUTH_TOKEN or TWILIO_API_KEY + "
                                   "TWILIO_API_SECRET) to use the twilio backend")
        self.http = RewritingHttpClient(api_base)
        if api_key and api_secret:
            self.client = Client(api_key, api_secret, account_sid, http_client=self.http)
        elif auth_token:
            self.client = Client(account_sid, auth_token, http_client=self.http)
        else:
            raise LiveBackendError("set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET")
        self.supervisor = supervisor or env.supervisor or "client:supervisor"
        self.caller_id = caller_id or env.twilio_caller_id or "+15005550006"
        self.coaching_url = coaching_url or env.coaching_url
        self._coaching_transport = coaching_transport
        self.scorer = scorer

    def __repr__(self) -> str:  # never show credentials
        return f"TwilioCallControl(calls={len(self._calls)})"

    # -- calls -----------------------------------------------------------------------

    def register_call(
        self,
        conference_sid: str,
        *,
        caller_call_sid: str,
        ai_call_sid: str,
        contact: str,
        call_id: str | None = None,
        flow: str | None = None,
    ) -> LiveCall:
        """Start monitoring an AI call (the AI agent's platform calls this when a call starts)."""
        call = LiveCall(id=call_id or conference_sid, contact=contact, platform="phone", flow=flow,
                        flow_state="conversation",
                        extra={"conference_sid": conference_sid, "caller_call_sid": caller_call_sid,
                               "ai_call_sid": ai_call_sid})
        with self._lock:
            self._calls[call.id] = call
        return call

    def refresh(self, *, page_size: int = 50) -> int:
        """Pick up in-progress conferences not yet known (one page); returns how many were added."""
        added = 0
        page = self._sdk(lambda: self.client.conferences.page(status="in-progress", page_size=page_size))
        for conference in page:
            if conference.sid in self._calls:
                continue
            legs = self._sdk(lambda c=conference: list(
                self.client.conferences(c.sid).participants.page(page_size=10)))
            by_label = {p.label: p.call_sid for p in legs if p.label}
            if "caller" in by_label and "ai" in by_label:
                self.register_call(conference.sid, caller_call_sid=by_label["caller"],
                                   ai_call_sid=by_label["ai"], contact=conference.friendly_name or "")
                added += 1
        return added

    def push_message(self, call_id: str, role: str, text: str) -> LiveMessage:
        """Add a transcript message (from the AI agent's speech pipeline); customer ones are scored."""
        message = LiveMessage(role, text, _now(), arrived=time.perf_counter())
        if role == "customer" and self.scorer is not None:
            if getattr(self.scorer, "takes_context", False):
                # Scored after the agent turn it answers (see convolab.emotions.inputs).
                with self._lock:
                    agent = [m.text for m in self.call(call_id).messages
                             if m.role in ("agent", "human_agent") and m.text.strip()]
                result = self.scorer(text, agent[-1] if agent else None)
            else:
                result = self.scorer(text)
            message.emotions = [e for e in result.get("emotions", []) if e != "neutral"]
            message.polarity, message.scored = result.get("polarity"), time.perf_counter()
        with self._lock:
            call = self.call(call_id)
            call.messages.append(message)
            for label in message.emotions:
                call.emotion_counts[label] = call.emotion_counts.get(label, 0) + 1
            self._changed.notify_all()
        return message

    def call_ended(self, call_id: str, *, status: str = "completed") -> LiveCall:
        """Report that a call ended on Twilio's side (the caller hung up, the AI finished).

        The AI platform's status callback calls this. The call is saved, scored and
        flagged like every finished call (:mod:`convolab.live.postcall`). A call that
        already left ``in_progress`` (a supervisor ended or transferred it) is left as is.
        """
        if status not in ("completed", "abandoned", "failed"):
            raise ValueError(f"status must be completed, abandoned or failed, got {status!r}")
        with self._lock:
            call = self.call(call_id)
            if call.status == "in_progress":
                call.status, call.ended_at, call.flow_state = status, _now(), "ended"
                self._changed.notify_all()
        self._finished(call)
        return call

    def update_call(self, call_sid: str, **params: Any) -> Any:
        """Low-level escape hatch: update a Twilio call with raw parameters (not state-checked, audited)."""
        result = "ok"
        try:
            return self._sdk(lambda: self.client.calls(call_sid).update(**params))
        except LiveBackendError as exc:
            result = f"error: {exc}"
            raise
        finally:
            self._audit("update_call", call_sid, {k: str(v) for k, v in params.items()}, result)

    # -- actions ---------------------------------------------------------------------

    def _conference(self, call: LiveCall) -> Any:
        return self.client.conferences(call.extra["conference_sid"])

    def _add_supervisor(self, call: LiveCall, *, muted: bool) -> None:
        participant = self._sdk(lambda: self._conference(call).participants.create(
            from_=self.caller_id, to=self.supervisor, muted=muted, beep="false", label="supervisor",
            end_conference_on_exit=False), call)
        call.extra["supervisor_call_sid"] = participant.call_sid

    def _do_listen_in(self, call: LiveCall) -> None:
        self._add_supervisor(call, muted=True)

    def _do_take_over(self, call: LiveCall) -> None:
        if not call.extra.get("supervisor_call_sid"):
            self._add_supervisor(call, muted=False)
        else:
            self._sdk(lambda: self._conference(call).participants(
                call.extra["supervisor_call_sid"]).update(muted=False), call)
        self._sdk(lambda: self._conference(call).participants(call.extra["ai_call_sid"]).update(hold=True),
                  call)

    def _do_hand_back(self, call: LiveCall) -> None:
        self._sdk(lambda: self._conference(call).participants(call.extra["ai_call_sid"]).update(hold=False),
                  call)
        self._sdk(lambda: self._conference(call).participants(
            call.extra["supervisor_call_sid"]).update(muted=True), call)

    def _do_transfer(self, call: LiveCall, to: str) -> None:
        twiml = VoiceResponse()
        twiml.dial(to)
        self._sdk(lambda: self.client.calls(call.extra["caller_call_sid"]).update(twiml=str(twiml)), call)

    def _do_enqueue(self, call: LiveCall, queue: str) -> None:
        twiml = VoiceResponse()
        if queue.startswith("WW") and len(queue) == 34:  # a TaskRouter workflow sid
            twiml.enqueue(workflow_sid=queue)
        else:
            twiml.enqueue(queue)
        self._sdk(lambda: self.client.calls(call.extra["caller_call_sid"]).update(twiml=str(twiml)), call)

    def _do_end(self, call: LiveCall) -> None:
        self._sdk(lambda: self._conference(call).update(status="completed"), call)

    def _do_add_coaching(self, call: LiveCall, text: str) -> None:
        import httpx

        if not self.coaching_url:
            raise LiveBackendError("no coaching webhook: set CONVOLAB_COACHING_URL (the AI agent's "
                                   "control endpoint)", call_id=call.id)
        secret = settings.current().coaching_secret
        if not secret:
            raise LiveBackendError("set CONVOLAB_COACHING_SECRET to sign coaching notes", call_id=call.id)
        body = json.dumps({"type": "coaching", "call_id": call.id,
                           "ai_call_sid": call.extra.get("ai_call_sid"), "text": text,
                           "from": self._actor()}, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: coaching_signature(secret, body)}
        with _network_errors("the coaching webhook", call.id):
            with httpx.Client(transport=self._coaching_transport, timeout=REQUEST_TIMEOUT_S) as http:
                response = http.post(self.coaching_url, content=body, headers=headers)
        if response.status_code >= 300:
            raise LiveBackendError(f"coaching webhook answered {response.status_code}",
                                   call_id=call.id, status=response.status_code)

    # -- errors ----------------------------------------------------------------------

    def _sdk(self, fn: Any, call: LiveCall | None = None) -> Any:
        """Run an SDK call, turning Twilio's and the network's errors into :class:`LiveBackendError`."""
        call_id = call.id if call is not None else None
        with _network_errors("Twilio", call_id):
            try:
                return fn()
            except TwilioRestException as exc:
                raise LiveBackendError(f"Twilio answered {exc.status}: {_rest_message(exc, self.http)}",
                                       call_id=call_id, status=exc.status) from None
            except TwilioException as exc:
                raise LiveBackendError(f"Twilio request failed: {exc}", call_id=call_id) from None


@contextmanager
def _network_errors(service: str, call_id: str | None) -> Iterator[None]:
    """The one place where a failing network becomes a :class:`LiveBackendError` (one clear line).

    The SDK speaks ``requests``, the coaching webhook ``httpx``; both raise their own
    connection and timeout errors (and, under them, ``OSError``).
    """
    import httpx
    import requests

    try:
        yield
    except (requests.Timeout, httpx.TimeoutException):
        raise LiveBackendError(f"{service} did not answer within {REQUEST_TIMEOUT_S:g} s (network timeout)",
                               call_id=call_id) from None
    except (requests.ConnectionError, httpx.ConnectError, httpx.NetworkError, OSError) as exc:
        raise LiveBackendError(f"cannot reach {service}: {_reason(exc)}", call_id=call_id) from None
    except (requests.RequestException, httpx.HTTPError) as exc:
        raise LiveBackendError(f"request to {service} failed: {_reason(exc)}", call_id=call_id) from None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a network error, in one line (no 80-line urllib3 chain)."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # urllib3 wraps the socket error: "<urllib3...object at 0x..>: Failed to establish ... [Errno -2] Name or
    # service not known"; the errno part is what a person needs.
    if "]" in text and "[Errno" in text:
        text = text[text.index("[Errno"):]
    return text[:200]


def _rest_message(exc: TwilioRestException, http: TwilioHttpClient) -> str:
    message = str(exc.msg or "").strip()
    requests = getattr(http, "requests", None)
    last = requests[-1] if requests else None
    if last is not None and last.status == exc.status and last.response_text:
        # The SDK keeps only a generic message when the body has no "message"; the
        # body (Twilio's error or a validator's problem report) says what was wrong.
        message = last.response_text
    # Prism (and some proxies) answer with a JSON body the SDK keeps verbatim.
    try:
        body = json.loads(message)
    except (ValueError, TypeError):
        return message.splitlines()[0] if message else "no message"
    if isinstance(body, dict):
        detail = body.get("message") or body.get("detail") or body.get("title")
        errors = body.get("validation") or []
        extra = "; ".join(str(e.get("message", e)) for e in errors[:3] if isinstance(e, dict))
        return " - ".join(p for p in (str(detail) if detail else "", extra) if p) or message[:300]
    return message
