"""The ``simulated`` backend: an in-process call center that plays conversations in real time.

Each call plays a generated conversation (:mod:`convolab.generate`) on a
background thread: messages arrive at their scripted offsets divided by
``speed``, functions run, and every customer message is scored by the streaming
scorer as it arrives. Supervisor actions change what happens next the way a
real call would (a taken-over AI says nothing more; a transferred, queued or
ended call stops playing). When a call ends, however it ends, post-call
processing saves it to the store, scores it and runs the review flags.
"""

from __future__ import annotations

import itertools
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from convolab.errors import ConvolabWarning
from convolab.live.base import CallControl, LiveCall, LiveMessage, _now

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["SimulatedCallControl", "default_scorer"]

Scorer = Callable[[str], dict[str, Any]]


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def default_scorer(model: Any = None) -> Scorer:
    """The real-time scorer used when none is given: the shipped emotion model, batched.

    It scores each customer message after the agent turn before it
    (:class:`~convolab.emotions.realtime.StreamingScorer`).
    """
    from convolab.emotions.realtime import StreamingScorer

    return StreamingScorer(model)


def _context(call: LiveCall, message: LiveMessage) -> str | None:
    """The newest agent turn before ``message`` in the call (what the customer answers)."""
    seen = False
    for earlier in reversed(call.messages):
        if earlier is message:
            seen = True
        elif seen and earlier.role in ("agent", "human_agent") and earlier.text.strip():
            return earlier.text
    return None


class SimulatedCallControl(CallControl):
    """An offline call center for demos, tests and benchmarks.

    Parameters
    ----------
    lab
        Store for the audit log and finished calls (``None``: keep nothing).
    calls
        How many calls to start with.
    speed
        Playback speed factor: 1 is real time, 20 plays a one-minute call in three seconds.
    scorer
        Callable ``text -> {"emotions": [...], "polarity": ...}`` scoring each customer
        message as it arrives; with a ``batch(texts)`` method, messages arriving together
        across calls are scored in one batch; with ``takes_context = True`` it also gets
        the agent turn before each message (``batch(texts, contexts)``,
        ``scorer(text, context)``). Default: the shipped emotion model, in context.
    seed
        Seed of the generated conversations.
    replenish
        Start a new call whenever one ends, so the center stays busy.
    post_call_scoring
        Score and flag the store after saving a finished call (needs the emotion model).
    autostart
        Start playback immediately (else call :meth:`start`).
    """

    backend = "simulated"

    def __init__(
        self,
        lab: Workbench | None = None,
        *,
        calls: int = 5,
        speed: float = 1.0,
        scorer: Scorer | None = None,
        seed: int = 0,
        replenish: bool = False,
        post_call_scoring: bool = True,
        autostart: bool = True,
        actor: str | None = None,
        allow_prefixes: Sequence[str] | None = None,
        tick: float = 0.02,
    ) -> None:
        super().__init__(lab, actor=actor, allow_prefixes=allow_prefixes, post_call_scoring=post_call_scoring)
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self.scorer: Scorer = scorer if scorer is not None else default_scorer()
        self.seed = seed
        self.replenish = replenish
        self.tick = tick
        self._serial = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_message: Callable[[LiveCall, LiveMessage], None] | None = None
        for _ in range(calls):
            self.start_call()
        if autostart:
            self.start()

    # -- the call center ---------------------------------------------------------

    def start_call(self) -> LiveCall:
        """Start one more call (a generated conversation) and return it."""
        from convolab.generate import generate_conversations

        n = next(self._serial)
        record = next(iter(generate_conversations(1, seed=self.seed * 7919 + n)))
        t0 = _parse(record["started_at"])
        events: list[tuple[float, str, dict[str, Any]]] = [
            ((_parse(m["at"]) - t0).total_seconds(), "message", m) for m in record["messages"]
        ] + [((_parse(f["at"]) - t0).total_seconds(), "function", f) for f in record["functions"]]
        events.sort(key=lambda e: e[0])
        call = LiveCall(
            id=f"live-{self.seed}-{n:04d}",
            contact=record["contact"],
            platform=record["platform"],
            flow=record["flow"],
            flow_state="greeting",
            extra={"record": record, "events": events, "next": 0, "clock": time.perf_counter()},
        )
        with self._lock:
            self._calls[call.id] = call
        return call

    def start(self) -> None:
        """Start the playback thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="convolab-live-sim", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop playback; calls still in progress stay as they are (not saved)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def say(self, call_id: str, text: str) -> None:
        """The supervisor who took over says ``text`` to the caller."""
        with self._lock:
            call = self.call(call_id)
            if call.handler != "supervisor" or call.status != "in_progress":
                from convolab.errors import ActionNotAllowed

                raise ActionNotAllowed(f"take over call {call_id} before speaking on it",
                                       call_id=call_id, action="say")
            call.messages.append(LiveMessage("supervisor", text, _now(), arrived=time.perf_counter()))
            self._changed.notify_all()

    def step(self) -> int:
        """Advance every call to the current time once; returns how many messages arrived."""
        now = time.perf_counter()
        arrived: list[tuple[LiveCall, LiveMessage]] = []
        finished: list[LiveCall] = []
        with self._lock:
            for call in list(self._calls.values()):
                if call.status != "in_progress":
                    continue
                elapsed = (now - call.extra["clock"]) * self.speed
                events = call.extra["events"]
                while call.extra["next"] < len(events) and events[call.extra["next"]][0] <= elapsed:
                    _, kind, item = events[call.extra["next"]]
                    call.extra["next"] += 1
                    # A muted or held AI neither speaks nor runs functions.
                    if call.handler != "ai" and (kind == "function" or item["role"] == "agent"):
                        continue
                    if kind == "function":
                        call.functions.append({**item, "at": _now()})
                        call.flow_state = item["name"]
                        continue
                    message = LiveMessage(item["role"], item["text"], _now(), arrived=time.perf_counter())
                    call.messages.append(message)
                    if call.flow_state == "greeting" and item["role"] == "customer":
                        call.flow_state = "conversation"
                    arrived.append((call, message))
                if call.extra["next"] >= len(events):
                    original = call.extra["record"]["status"]
                    call.status = original if original in ("abandoned", "failed") else "completed"
                    call.ended_at = _now()
                    call.flow_state = "ended"
                    finished.append(call)
            if arrived or finished:
                self._changed.notify_all()
        # Score outside the lock so actions never wait for the model.
        self._score([(c, m) for c, m in arrived if m.role == "customer"])
        for call, message in arrived:
            if self.on_message is not None:
                self.on_message(call, message)
        for call in finished:
            self._finished(call)
        return len(arrived)

    def _score(self, batch: list[tuple[LiveCall, LiveMessage]]) -> None:
        if not batch:
            return
        texts = [m.text for _, m in batch]
        batch_fn = getattr(self.scorer, "batch", None)
        if getattr(self.scorer, "takes_context", False):
            with self._lock:
                contexts = [_context(c, m) for c, m in batch]
            results = (
                batch_fn(texts, contexts)
                if batch_fn is not None
                else [self.scorer(t, c) for t, c in zip(texts, contexts, strict=True)]
            )
        else:
            results = batch_fn(texts) if batch_fn is not None else [self.scorer(t) for t in texts]
        done = time.perf_counter()
        with self._lock:
            for (call, message), result in zip(batch, results, strict=True):
                message.emotions = [e for e in result.get("emotions", []) if e != "neutral"]
                message.polarity = result.get("polarity")
                message.scored = done
                for label in message.emotions:
                    call.emotion_counts[label] = call.emotion_counts.get(label, 0) + 1
            self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # keep the center alive; say what went wrong
                warnings.warn(f"live simulation step failed: {exc}", ConvolabWarning, stacklevel=1)
            self._stop.wait(self.tick)

    # -- actions (state already checked by CallControl) ---------------------------

    def _do_listen_in(self, call: LiveCall) -> None:
        pass  # a silent listener changes nothing the caller hears

    def _do_take_over(self, call: LiveCall) -> None:
        call.messages.append(LiveMessage("system", "A supervisor joined the call.", _now()))

    def _do_hand_back(self, call: LiveCall) -> None:
        call.messages.append(LiveMessage("system", "The AI agent resumed the call.", _now()))

    def _do_transfer(self, call: LiveCall, to: str) -> None:
        call.messages.append(LiveMessage("system", "Transferring your call.", _now()))
        call.flow_state = "transferred"

    def _do_enqueue(self, call: LiveCall, queue: str) -> None:
        call.messages.append(LiveMessage("system", "Please hold for the next available agent.", _now()))
        call.flow_state = "queued"

    def _do_end(self, call: LiveCall) -> None:
        call.flow_state = "ended"

    def _do_add_coaching(self, call: LiveCall, text: str) -> None:
        # Agent-side channel only: kept on call.coaching, never in call.messages.
        pass

    # -- post-call processing -----------------------------------------------------

    def _finished(self, call: LiveCall) -> None:
        super()._finished(call)
        if self.replenish and not self._stop.is_set():
            self.start_call()
