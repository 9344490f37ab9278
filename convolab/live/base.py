"""The one live-call interface, :class:`CallControl`, and the state machine both backends share.

A live call has a *status* (``in_progress`` while someone is talking, then one of
``completed``, ``abandoned``, ``transferred``, ``queued``) and a *handler*: who is
speaking for the contact center (``ai``, ``supervisor``, ``human``, ``queue``).
A supervisor may additionally be *listening* silently.

State table (who may do what; everything else raises :class:`ActionNotAllowed`):

=============  ==============================  ===================================
action         allowed when                    effect
=============  ==============================  ===================================
listen_in      in_progress, handler ai,        supervisor joins muted (no mic)
               not already listening
take_over      in_progress, handler ai         supervisor speaks, AI muted/held
               (listening or not)
hand_back      in_progress, handler supervisor AI speaks again, supervisor back
                                               to silent listening
transfer       in_progress, handler ai or      status transferred, handler human,
               supervisor                      AI stops
enqueue        in_progress, handler ai or      status queued, handler queue,
               supervisor                      AI stops
end            in_progress, handler ai or      status completed (ended by
               supervisor                      supervisor), hang up for all
add_coaching   in_progress, handler ai         note reaches the AI agent only
=============  ==============================  ===================================

The rules live here, not in a UI, so a widget, the CLI and a notebook all get the
same answer, and every attempt (allowed or refused) is written to the audit log.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from convolab.errors import ActionNotAllowed, ConvolabWarning

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = [
    "ACTIONS",
    "CallControl",
    "LiveCall",
    "LiveMessage",
    "check_action",
    "allowed_actions_for",
    "validate_destination",
]

ACTIONS = ("listen_in", "take_over", "hand_back", "transfer", "enqueue", "end", "add_coaching")

E164 = re.compile(r"^\+[1-9]\d{1,14}$")

#: Emotions that push a call's risk level up.
NEGATIVE_EMOTIONS = frozenset(
    {"anger", "annoyance", "disappointment", "disapproval", "disgust", "fear", "grief",
     "nervousness", "remorse", "sadness", "embarrassment"}
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LiveMessage:
    """One message of a live call as the caller-side transcript shows it."""

    role: str
    text: str
    at: datetime
    emotions: list[str] = field(default_factory=list)
    polarity: str | None = None
    arrived: float = 0.0  # perf_counter when it arrived (latency measurements)
    scored: float | None = None  # perf_counter when its emotions became available


@dataclass
class LiveCall:
    """A live call and everything the monitor shows about it."""

    id: str
    contact: str
    platform: str = "phone"
    flow: str | None = None
    status: str = "in_progress"
    handler: str = "ai"
    listening: bool = False
    started_at: datetime = field(default_factory=_now)
    ended_at: datetime | None = None
    flow_state: str | None = None
    functions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[LiveMessage] = field(default_factory=list)
    coaching: list[dict[str, Any]] = field(default_factory=list)
    emotion_counts: dict[str, int] = field(default_factory=dict)
    previous_handler: str | None = None
    transferred_to: str | None = None
    queue: str | None = None
    # Backend-specific handles (Twilio conference / participant sids, simulation script).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        end = self.ended_at or _now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def top_emotions(self) -> list[str]:
        ranked = sorted(self.emotion_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [label for label, _ in ranked[:3]]

    @property
    def risk(self) -> str:
        """``high``, ``medium`` or ``low``: negative customer messages plus failed functions."""
        negative = sum(1 for m in self.messages if m.role == "customer" and m.polarity == "negative")
        failures = sum(1 for f in self.functions if f.get("status") not in (None, "ok"))
        points = negative + 2 * failures
        return "high" if points >= 3 else "medium" if points >= 1 else "low"

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact": self.contact,
            "platform": self.platform,
            "status": self.status,
            "handler": self.handler,
            "listening": self.listening,
            "duration_s": round(self.duration_s, 1),
            "flow_state": self.flow_state,
            "functions": [f["name"] for f in self.functions],
            "top_emotions": self.top_emotions,
            "risk": self.risk,
        }


CALL_COLUMNS = {
    "id": pl.Utf8, "contact": pl.Utf8, "platform": pl.Utf8, "status": pl.Utf8,
    "handler": pl.Utf8, "listening": pl.Boolean, "duration_s": pl.Float64,
    "flow_state": pl.Utf8, "functions": pl.List(pl.Utf8), "top_emotions": pl.List(pl.Utf8),
    "risk": pl.Utf8,
}


def _refusal(call: LiveCall, action: str) -> str | None:
    """Why ``action`` is not allowed on ``call`` now, or ``None`` when it is."""
    if action not in ACTIONS:
        return f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}"
    if call.status != "in_progress":
        return f"call {call.id} is {call.status}; live actions need an in-progress call"
    if call.handler in ("human", "queue"):
        return f"call {call.id} is handled by {call.handler}, not an AI agent"
    if action == "listen_in":
        if call.handler != "ai":
            return f"a supervisor has taken over call {call.id}; they are already on the call"
        if call.listening:
            return f"a supervisor is already listening to call {call.id}"
    elif action == "take_over":
        if call.handler != "ai":
            return f"call {call.id} is already taken over by a supervisor"
    elif action == "hand_back":
        if call.handler != "supervisor":
            return f"call {call.id} is not taken over; there is nothing to hand back"
    elif action == "add_coaching":
        if call.handler != "ai":
            return f"the AI agent is muted on call {call.id}; hand it back before coaching"
    return None


def allowed_actions_for(call: LiveCall) -> list[str]:
    """The actions the state machine allows on ``call`` now, in menu order."""
    return [a for a in ACTIONS if _refusal(call, a) is None]


def check_action(call: LiveCall, action: str) -> None:
    """Raise :class:`ActionNotAllowed` with the reason when ``action`` is not allowed on ``call``."""
    reason = _refusal(call, action)
    if reason is not None:
        raise ActionNotAllowed(reason, call_id=call.id, action=action)


def validate_destination(to: str, allow_prefixes: Sequence[str] | None = None) -> str:
    """Check a transfer destination: E.164 and, if given, one of the allowed prefixes.

    The prefix allow-list is the toll-fraud guard: a supervisor (or a compromised
    session) cannot bridge a call to a premium-rate number abroad.
    """
    to = (to or "").strip()
    if not E164.match(to):
        raise ValueError(f"transfer destination {to!r} is not an E.164 number like +15555550123")
    if allow_prefixes and not any(to.startswith(p) for p in allow_prefixes):
        raise ValueError(
            f"transfer destination {to} is not in the allowed prefixes ({', '.join(allow_prefixes)})"
        )
    return to


class CallControl(ABC):
    """Watch live calls and act on them; get one with :func:`convolab.live.connect`.

    The public action methods check the state machine, write the audit log and
    then ask the backend (``_do_<action>``) to do it. Backends never re-check state.

    Parameters
    ----------
    lab
        The store to audit to and save finished calls in. ``None`` audits to
        nothing (the state machine still applies).
    actor
        Who is acting, for the audit log (default: ``$CONVOLAB_USER`` or the OS user).
    allow_prefixes
        Destination prefixes ``transfer`` accepts (e.g. ``["+1"]``); ``None`` accepts any E.164.
    """

    backend: str = "base"

    def __init__(
        self,
        lab: Workbench | None = None,
        *,
        actor: str | None = None,
        allow_prefixes: Sequence[str] | None = None,
        post_call_scoring: bool = True,
    ) -> None:
        self.lab = lab
        self.actor = actor
        self.post_call_scoring = post_call_scoring
        self.allow_prefixes = list(allow_prefixes) if allow_prefixes else None
        self._calls: dict[str, LiveCall] = {}
        # One lock guards call state and the DuckDB connection (shared with a playback thread).
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)

    # -- reading -------------------------------------------------------------------

    def calls(self, *, include_ended: bool = True) -> pl.DataFrame:
        """Live calls as a polars DataFrame, one row per call.

        Columns: id, contact, platform, status, handler (ai / supervisor / human /
        queue), listening, duration_s, flow_state, functions (names run so far),
        top_emotions (up to three, most frequent first), risk (low / medium / high).
        """
        with self._lock:
            rows = [c.row() for c in self._calls.values()
                    if include_ended or c.status == "in_progress"]
        return pl.DataFrame(rows, schema=CALL_COLUMNS)

    def call(self, call_id: str) -> LiveCall:
        """The :class:`LiveCall` with this id (raises ``KeyError`` naming it when unknown)."""
        with self._lock:
            try:
                return self._calls[call_id]
            except KeyError:
                raise KeyError(f"no live call with id {call_id!r}") from None

    def messages(self, call_id: str) -> list[LiveMessage]:
        """Non-blocking snapshot of the caller-visible transcript so far."""
        with self._lock:
            return list(self.call(call_id).messages)

    def transcript(self, call_id: str, *, timeout: float | None = None) -> Iterator[LiveMessage]:
        """Yield the call's messages as they arrive, until the call ends (or ``timeout`` s of quiet)."""
        seen = 0
        while True:
            with self._changed:
                call = self.call(call_id)
                if seen >= len(call.messages) and call.status == "in_progress":
                    if not self._changed.wait(timeout) and timeout is not None:
                        return
                new = call.messages[seen:]
                done = call.status != "in_progress"
            yield from new
            seen += len(new)
            if done and not new:
                return

    def allowed_actions(self, call_id: str) -> list[str]:
        """Actions allowed on this call now (what an Actions menu should offer)."""
        with self._lock:
            return allowed_actions_for(self.call(call_id))

    # -- actions -------------------------------------------------------------------

    def listen_in(self, call_id: str) -> None:
        """Join silently (microphone not connected)."""
        self._act(call_id, "listen_in", {})

    def take_over(self, call_id: str) -> None:
        """Speak to the caller yourself; the AI agent is muted until :meth:`hand_back`."""
        self._act(call_id, "take_over", {})

    def hand_back(self, call_id: str) -> None:
        """Return the call to the AI agent; you stay on, listening silently."""
        self._act(call_id, "hand_back", {})

    def transfer(self, call_id: str, to: str) -> None:
        """Dial ``to`` (E.164) and bridge the caller; the AI's part ends (status transferred)."""
        self._act(call_id, "transfer", {"to": to})

    def enqueue(self, call_id: str, queue: str = "support") -> None:
        """Move the caller to a human-agent queue (name or TaskRouter workflow sid); the AI stops."""
        if not queue or not str(queue).strip():
            raise ValueError("enqueue needs a queue name")
        self._act(call_id, "enqueue", {"queue": str(queue).strip()})

    def end(self, call_id: str) -> None:
        """Hang up for everyone; post-call processing still runs."""
        self._act(call_id, "end", {})

    def add_coaching(self, call_id: str, text: str) -> None:
        """Send a note to the AI agent only; it never reaches the caller's transcript."""
        if not text or not text.strip():
            raise ValueError("a coaching note needs some text")
        self._act(call_id, "add_coaching", {"text": text.strip()})

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to stop
        """Stop the backend (threads, sessions)."""

    def __enter__(self) -> CallControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- machinery -----------------------------------------------------------------

    def _act(self, call_id: str, action: str, params: dict[str, Any]) -> None:
        with self._lock:
            try:
                call = self.call(call_id)
                check_action(call, action)
                if action == "transfer":
                    params["to"] = validate_destination(params["to"], self.allow_prefixes)
            except (ActionNotAllowed, ValueError, KeyError) as exc:
                self._audit(action, call_id, params, f"refused: {_message(exc)}")
                if isinstance(exc, ValueError):
                    raise ActionNotAllowed(str(exc), call_id=call_id, action=action) from None
                raise
            try:
                getattr(self, f"_do_{action}")(call, **params)
            except Exception as exc:
                self._audit(action, call_id, params, f"error: {_message(exc)}")
                raise
            self._apply(call, action, params)
            self._audit(action, call_id, params, "ok")
            self._changed.notify_all()
        if call.status != "in_progress":
            self._finished(call)

    def _apply(self, call: LiveCall, action: str, params: dict[str, Any]) -> None:
        """Move the call to its next state after the backend did the action."""
        if action == "listen_in":
            call.listening = True
        elif action == "take_over":
            call.previous_handler, call.handler, call.listening = call.handler, "supervisor", True
        elif action == "hand_back":
            call.handler, call.previous_handler = call.previous_handler or "ai", None
        elif action == "transfer":
            call.status, call.handler, call.transferred_to = "transferred", "human", params["to"]
        elif action == "enqueue":
            call.status, call.handler, call.queue = "queued", "queue", params["queue"]
        elif action == "end":
            call.status = "completed"
            call.extra["ended_by"] = "supervisor"
        elif action == "add_coaching":
            note = {"text": params["text"], "at": _now(), "by": self._actor()}
            call.coaching.append(note)
            self._save_coaching(call, note)
        if call.status != "in_progress" and call.ended_at is None:
            call.ended_at = _now()

    def _actor(self) -> str:
        from convolab.store import current_actor

        return self.actor or current_actor()

    def _audit(self, action: str, call_id: str, params: dict[str, Any], result: str) -> None:
        if self.lab is None:
            return
        details = {"backend": self.backend, **params}
        with self._lock:
            self.lab.audit(f"live.{action}", target=call_id, details=details,
                           actor=self._actor(), result=result)

    def _save_coaching(self, call: LiveCall, note: dict[str, Any]) -> None:
        if self.lab is None:
            return
        from convolab.live.postcall import save_coaching_note

        save_coaching_note(self.lab, call.id, note)

    def _finished(self, call: LiveCall) -> None:
        """Run post-call processing once, when a call leaves ``in_progress`` (every backend)."""
        with self._lock:
            if call.extra.get("saved"):
                return
            call.extra["saved"] = True
        if self.lab is None:
            return
        from convolab.live.postcall import process_finished_call

        try:
            process_finished_call(self.lab, call, backend=self.backend, lock=self._lock,
                                  score=self.post_call_scoring)
        except Exception as exc:  # noqa: BLE001 - the call has ended either way; say what failed
            warnings.warn(f"post-call processing of {call.id} failed: {exc}", ConvolabWarning, stacklevel=1)

    # Backends do the real-world part of each action; state checks are already done.
    @abstractmethod
    def _do_listen_in(self, call: LiveCall) -> None: ...

    @abstractmethod
    def _do_take_over(self, call: LiveCall) -> None: ...

    @abstractmethod
    def _do_hand_back(self, call: LiveCall) -> None: ...

    @abstractmethod
    def _do_transfer(self, call: LiveCall, to: str) -> None: ...

    @abstractmethod
    def _do_enqueue(self, call: LiveCall, queue: str) -> None: ...

    @abstractmethod
    def _do_end(self, call: LiveCall) -> None: ...

    @abstractmethod
    def _do_add_coaching(self, call: LiveCall, text: str) -> None: ...


def _message(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return str(text).splitlines()[0] if str(text) else type(exc).__name__


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (tests and the CLI use it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
