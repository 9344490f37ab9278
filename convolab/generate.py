"""Realistic sample conversations between AI agents and customers.

Deterministic for a seed, streamed to disk one record at a time (1,000,000
conversations never sit in memory), canonical JSONL (``.gz`` compresses).

Besides ordinary calls, the generator *plants* the situations the built-in
review criteria look for (a frustrated customer, a failing function, an agent
stuck in a loop, ...) at realistic rates and records each planted condition in
the record's ``ground_truth`` list, so precision and recall of the flags are
measurable on demo data. Planted conditions are exclusive by construction:
ordinary conversations avoid their keywords, gaps and repetitions, and their
customers say nothing strongly negative. A frustrated customer says two angry
lines and then recovers; a customer whose sentiment worsens opens warmly and
ends, after bad news, on sad or disapproving lines (their last words; not
disappointment, which the criteria read as frustration). Requests
for a person, escalations and intents to leave come in varied wording.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["FLOWS", "PLANTED", "generate_conversations", "write_conversations"]

_EPOCH = datetime(2026, 10, 1, tzinfo=UTC)

#: flow -> (call reasons, typical functions, platform weights (phone, web))
FLOWS: dict[str, dict[str, Any]] = {
    "Utilities Inbound": {
        "reasons": [("billing", "high bill"), ("outage", "power outage"), ("move", "moving house")],
        "functions": ["lookup_account", "get_bill", "report_outage"],
        "phone": 0.8,
    },
    "Disgruntled Customer": {
        "reasons": [("complaint", "repeated overcharge"), ("billing", "late fee"), ("service", "missed appointment")],
        "functions": ["lookup_account", "get_bill", "issue_credit"],
        "phone": 0.7,
    },
    "Appointment Booking": {
        "reasons": [("appointment", "new booking"), ("appointment", "reschedule")],
        "functions": ["find_slots", "book_appointment"],
        "phone": 0.5,
    },
    "Order Status": {
        "reasons": [("order", "where is my order"), ("order", "damaged item")],
        "functions": ["lookup_order", "track_shipment"],
        "phone": 0.3,
    },
    "Tech Support": {
        "reasons": [("technical", "router offline"), ("technical", "app login")],
        "functions": ["lookup_account", "run_line_test", "reset_device"],
        "phone": 0.6,
    },
    "Billing Chat": {
        "reasons": [("billing", "payment plan"), ("billing", "refund request")],
        "functions": ["lookup_account", "get_balance", "create_payment_plan"],
        "phone": 0.2,
    },
    "Insurance Claims": {
        "reasons": [("claim", "new claim"), ("claim", "claim status")],
        "functions": ["lookup_policy", "open_claim", "claim_status"],
        "phone": 0.6,
    },
}

# Planted conditions and how often each is planted (fraction of conversations).
PLANTED: dict[str, float] = {
    "frustrated_customer": 0.06,
    "sentiment_worsened": 0.04,
    "function_failed": 0.05,
    "agent_loop": 0.03,
    "asked_for_human": 0.04,
    "abandoned_after_wait": 0.03,
    "technical_failure": 0.03,
    "agent_repeated_reply": 0.03,
    "legal_or_complaint": 0.03,
    "churn_intent": 0.03,
    "duration_anomaly": 0.02,
    "slow_agent_response": 0.03,
}

_FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemi", "Liam"]
_LANG = [("en", 0.82), ("es", 0.12), ("fr", 0.06)]

# Customer lines by emotion; none asks for a person, escalates, threatens to leave
# or sounds frustrated (what the planted lines below do).
# Openers name the issue; the other moods are what customers say later in a call.
_OPENER = {
    "neutral": ["I'm calling about my {issue}.", "It's about the {issue}.",
                "Hi, I have a question about my {issue}."],
    "curiosity": ["What does this fee on my statement mean?", "How does the {issue} process work?",
                  "I'm curious, why is there a second charge?"],
    "confusion": ["I don't understand this charge at all.", "I'm not sure what that number refers to."],
}
_CUSTOMER = {
    "neutral": ["My account number should be on file.", "Yes, that's the right address.", "Okay.",
                "The one ending in 42."],
    "curiosity": ["What does this fee on my statement mean?", "How does the {issue} process work?",
                  "Can you tell me when that changes?", "I'm curious, why is there a second charge?"],
    "confusion": ["I don't understand this charge at all.", "Sorry, I'm confused, which date was that?",
                  "Wait, what do you mean by pending?", "I'm not sure what that number refers to."],
    "gratitude": ["Thank you so much, that's really helpful!", "Thanks, I appreciate your help.",
                  "Great, thank you for sorting that out.", "Thank you, that's exactly what I needed."],
    "relief": ["Oh good, that's a relief.", "What a relief, thank you.", "Great, I'm relieved to hear that."],
    "approval": ["That sounds good to me.", "Yes, that works.", "Perfect, let's do that."],
    "joy": ["That's wonderful news!", "I'm so happy that's fixed!"],
}
_MIDDLE_MOODS = ["neutral", "curiosity", "confusion"]
_CLOSING_MOODS = ["gratitude", "relief", "approval", "joy"]
# A frustrated customer says two of these (anger, annoyance, disappointment) ...
_ANGRY = ["This is ridiculous, why is my bill so high again?!", "I'm furious, this is the third time this month!",
          "This is absolutely unacceptable and I'm fed up.", "I am so angry, nothing you do ever works!",
          "Are you kidding me? This is outrageous!", "I'm really disappointed, this keeps happening.",
          "I'm so annoyed, I've explained this three times already.",
          "This is so frustrating, why can't you just fix it?", "Honestly this is infuriating.",
          "I'm really angry about how I've been treated.", "Stop wasting my time, this is ridiculous.",
          "I'm extremely disappointed with your service."]
# ... and recovers once the agent fixes it: frustration was a peak, the mood did not end worse.
_CALMER = ["Oh good, that's a relief, thank you.", "Great, that's sorted then, I'm happy now.",
           "Perfect, thank you for fixing it.", "Okay, that's much better, thanks a lot!"]
# Sentiment that worsens: the customer opens warmly and, after bad news, ends on
# worried, sad or disapproving lines (negative, but not an angry outburst).
_WARM_OPENER = ["Hi! Thanks so much for picking up so quickly.", "Good morning! Happy to finally get through.",
                "Hello, I hope you're having a lovely day!", "Thanks for getting back to me, I appreciate it."]
_BAD_NEWS = ["Unfortunately I can't change that today.", "I'm afraid the earliest fix is next month.",
             "I'm sorry, that charge can't be refunded."]
_DISMAYED = ["Hmm, that's not good news at all.", "That's sad to hear.", "I don't like the sound of that.",
             "Oh, that's a real shame.", "That's sad news, honestly.",
             "I'm sad to hear that, honestly."]
# Requests, threats and intents in varied wording: the meaning-based criteria must
# not depend on one keyword. None of these appears in ordinary conversations.
_HUMAN = ["I want to speak to a human, please.", "Can I talk to a real person?",
          "Get me a representative right now.", "Let me speak to someone, not a bot.",
          "Could I get a supervisor on the line?", "Please have someone call me back about this.",
          "Transfer me to an agent, please.", "I'd like to talk to your manager."]
_LEGAL = ["If this isn't fixed I'm calling my lawyer.", "I want to file a formal complaint.",
          "I'll report this to the regulator.", "I'm going to report you to the Better Business Bureau.",
          "I'll dispute this charge with my bank.", "I'm going to post about this everywhere online."]
_CHURN = ["I would like to cancel my account, please.", "That's it, I'm switching to another provider.",
          "Please close my account.", "I'm taking my business elsewhere.",
          "If this happens again I'm leaving for a competitor.", "How do I cancel my subscription?"]
_AGENT_OPEN = ["Hi, thanks for calling {brand}. How can I help you today?",
               "Hello! You're through to {brand}'s assistant. What can I do for you?"]
_AGENT_MID = ["Let me look into that for you.", "I can help with that.", "Thanks, one moment while I check.",
              "I've found your account.", "I understand, let me see what I can do."]
_AGENT_CLOSE = ["Is there anything else I can help with?", "Glad I could help. Have a great day!",
                "You're all set. Thanks for contacting {brand}."]
_SUMMARY = "{name} contacted {brand} about {issue} via {platform}; {outcome}."
_ANALYSIS = {
    "completed": "The agent identified the customer, used {n} tool call(s) and resolved the request.",
    "abandoned": "The customer left before the request was resolved.",
    "failed": "The conversation ended because of a technical error.",
    "transferred": "The agent transferred the customer to a human agent.",
    "in_progress": "The conversation is still in progress.",
    "queued": "The customer is waiting in the human-agent queue.",
    "no_answer": "The outbound call was not answered.",
    "voicemail": "The call reached voicemail; the agent left a message.",
}
_STATUS_RATES = [("completed", 0.74), ("abandoned", 0.07), ("transferred", 0.09), ("failed", 0.02),
                 ("in_progress", 0.02), ("queued", 0.01), ("no_answer", 0.03), ("voicemail", 0.02)]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Conversation:
    """Builds one conversation's messages and functions on a running clock."""

    def __init__(self, rng: random.Random, start: datetime, fmt: dict[str, str]):
        self.rng, self.t, self.fmt = rng, start, fmt
        self.messages: list[dict[str, Any]] = []
        self.functions: list[dict[str, Any]] = []
        self.last_agent: str | None = None

    def say(self, role: str, text: str, gap: tuple[float, float] = (2, 9)) -> None:
        self.t += timedelta(seconds=self.rng.uniform(*gap))
        self.messages.append({"role": role, "text": text.format(**self.fmt), "at": _iso(self.t)})
        if role == "agent":
            self.last_agent = text

    def agent_mid(self, gap: tuple[float, float] = (2, 9)) -> None:
        """A stock agent line, never the same as the agent's previous line."""
        self.say("agent", self.rng.choice([m for m in _AGENT_MID if m != self.last_agent]), gap)

    def call(self, name: str, args: dict[str, Any], output: Any, status: str = "ok") -> None:
        self.t += timedelta(seconds=self.rng.uniform(0.5, 2.5))
        self.functions.append({"name": name, "arguments": args, "output": output, "status": status,
                               "at": _iso(self.t)})


def _conversation(i: int, rng: random.Random) -> dict[str, Any]:
    flow = rng.choice(list(FLOWS))
    spec = FLOWS[flow]
    platform = "phone" if rng.random() < spec["phone"] else "web"
    reason, issue = rng.choice(spec["reasons"])
    name = rng.choice(_FIRST)
    brand = "Northwind"
    account = f"A-{rng.randrange(10_000, 99_999)}"
    contact = f"+1555555{rng.randrange(0, 10_000):04d}" if platform == "phone" else f"{name.lower()}{rng.randrange(100)}@example.com"
    start = _EPOCH + timedelta(seconds=rng.randrange(0, 60 * 86400))
    planted = [c for c, rate in PLANTED.items() if rng.random() < rate]
    # Some conditions imply a status; keep them consistent with each other.
    if "technical_failure" in planted:
        status = "failed"
        planted = [p for p in planted if p != "abandoned_after_wait"]
    elif "abandoned_after_wait" in planted:
        status = "abandoned"
    elif "asked_for_human" in planted:
        status = "transferred"
    else:
        status = _pick(rng, _STATUS_RATES)
        if status == "failed" or (planted and status == "no_answer"):
            # failures only where planted; an unanswered call cannot carry planted turns
            status = "completed"
        if status == "abandoned" and rng.random() < 0.5:
            status = "completed"
    c = _Conversation(rng, start, {"issue": issue, "brand": brand})

    c.say("agent", rng.choice(_AGENT_OPEN))
    if "sentiment_worsened" in planted:
        # The customer opens warmly ...
        c.say("customer", rng.choice(_WARM_OPENER))
        c.say("customer", rng.choice(_OPENER["neutral"]), gap=(1, 3))
    else:
        c.say("customer", rng.choice(_OPENER[rng.choice(_MIDDLE_MOODS)]))
    c.agent_mid()
    # The main function calls for this flow.
    fn_names = spec["functions"]
    c.call(fn_names[0], {"phone": contact} if platform == "phone" else {"email": contact}, {"account_id": account})
    if "function_failed" in planted:
        c.call(fn_names[1], {"account_id": account}, {"error": "upstream timeout"}, status="error")
        c.call(fn_names[1], {"account_id": account}, {"result": "ok"})  # retried and succeeded
    else:
        c.call(fn_names[1], {"account_id": account}, {"result": "ok"})
    if "agent_loop" in planted:
        for _ in range(rng.randint(2, 4)):
            c.call(fn_names[0], {"account_id": account}, {"account_id": account})
    # Stock agent lines never repeat back to back, so only planted
    # conversations contain the same agent reply twice in a row.
    for _ in range(rng.randint(1, 4)):
        c.say("customer", rng.choice(_CUSTOMER[rng.choice(_MIDDLE_MOODS)]))
        c.agent_mid()
    if "agent_repeated_reply" in planted:
        repeated = "I'm sorry, could you repeat your account number?"
        c.say("agent", repeated)
        c.say("customer", rng.choice(_CUSTOMER["neutral"]))
        c.say("agent", repeated)
    if "frustrated_customer" in planted:
        # Two angry lines, then the customer is happy again: frustration is a
        # peak, not how the conversation ends (that is sentiment_worsened).
        first, second = rng.sample(_ANGRY, k=2)
        c.say("customer", first)
        c.say("agent", "I'm sorry about that. Let me see what I can do.")
        c.say("customer", second)
        c.say("agent", "I completely understand. I'm fixing this for you now.")
        c.say("customer", rng.choice(_CALMER))
        c.agent_mid()
    if "legal_or_complaint" in planted:
        c.say("customer", rng.choice(_LEGAL))
        c.say("agent", "I've noted that on your account.")
    if "churn_intent" in planted:
        c.say("customer", rng.choice(_CHURN))
        c.say("agent", "I'm sorry to hear that. Let me see what I can do.")
    if "slow_agent_response" in planted:
        c.say("customer", rng.choice(_CUSTOMER["curiosity"]))
        c.say("agent", "Thanks for waiting, I have that now.", gap=(18, 45))
    if "duration_anomaly" in planted:
        # A very long call: many slow turns, all polite.
        for _ in range(rng.randint(25, 40)):
            c.say("customer", rng.choice(_CUSTOMER[rng.choice(_MIDDLE_MOODS)]), gap=(8, 12))
            c.agent_mid(gap=(3, 10))
    if "asked_for_human" in planted:
        c.say("customer", rng.choice(_HUMAN))
        c.say("agent", "Of course, I'm transferring you to a colleague now.")
    waiting_line = rng.choice(_CUSTOMER["curiosity"])
    if "sentiment_worsened" in planted:
        # ... and, after bad news, ends worried or dismayed: these are the customer's last words.
        first, second = rng.sample(_DISMAYED, k=2)
        c.say("agent", rng.choice(_BAD_NEWS))
        c.say("customer", first)
        c.say("agent", "I understand, and I'm sorry I can't do more today.")
        if "abandoned_after_wait" in planted:
            waiting_line = second
        else:
            c.say("customer", second)
    if "abandoned_after_wait" in planted:
        c.say("customer", waiting_line)
        c.t += timedelta(seconds=rng.uniform(25, 90))  # the customer waits, then hangs up
    elif "sentiment_worsened" in planted:
        c.say("agent", "Is there anything else I can help with?")
    elif status in ("completed", "transferred", "voicemail") and "technical_failure" not in planted:
        c.say("customer", rng.choice(_CUSTOMER[rng.choice(_CLOSING_MOODS)]))
        c.say("agent", rng.choice(_AGENT_CLOSE))
    if "technical_failure" in planted:
        c.say("system", "Call dropped: media server error (code 503).")
    if status in ("no_answer",):
        c.messages = c.messages[:1]
        c.functions = []
    end = c.t + timedelta(seconds=rng.uniform(1, 4))
    language = _pick(rng, _LANG)
    outcome = {"completed": "resolved", "abandoned": "customer hung up", "failed": "technical failure",
               "transferred": "transferred to a human agent"}.get(status, status.replace("_", " "))
    record: dict[str, Any] = {
        "id": f"c-{i:07d}",
        "flow": flow,
        "platform": platform,
        "contact": contact,
        "contact_id": f"cust-{rng.randrange(1, 50_000):05d}",
        "status": status,
        "started_at": _iso(start),
        "ended_at": None if status in ("in_progress", "queued") else _iso(end),
        "summary": _SUMMARY.format(name=name, brand=brand, issue=issue, platform=platform, outcome=outcome),
        "analysis": _ANALYSIS[status].format(n=len(c.functions)),
        "tags": {"call_reason": reason, "language": language, "issue": issue},
        "parameters": {"account_id": account, "customer_name": name},
        "recording": f"audio/c-{i:07d}.wav" if platform == "phone" else None,
        "messages": c.messages,
        "functions": c.functions,
        "ground_truth": sorted(set(planted)),
    }
    return record


def generate_conversations(n: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield ``n`` sample conversations (canonical dicts), deterministically for ``seed``.

    Each conversation draws from its own RNG seeded by (seed, index), so record
    ``i`` is the same whatever ``n`` is.
    """
    if n < 0:
        raise ValueError("the number of conversations must be >= 0")
    for i in range(1, n + 1):
        yield _conversation(i, random.Random(seed * 1_000_003 + i))


def write_conversations(
    path: str | Path,
    n: int,
    *,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    audio: str | Path | None = None,
    audio_calls: int | None = None,
) -> Path:
    """Stream ``n`` conversations to ``path`` as canonical JSONL (gzip when it ends in ``.gz``).

    Returns the path written. ``progress`` is called with the number of records
    written every 1,000 records (every 50 when recording audio).

    With ``audio`` (a folder), each finished phone call, up to ``audio_calls`` of them,
    is also spoken with espeak-ng into a two-channel recording in that folder, its
    transcript re-timed to the speech and its ``ground_truth`` extended with the audio
    conditions planted in it (see :mod:`convolab.audio.sample_calls`); its
    ``recording`` is the file name relative to that folder. Phone calls without a
    recording get ``recording: null``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records: Iterator[dict[str, Any]] = generate_conversations(n, seed=seed)
    every = 1000
    if audio is not None:
        from convolab.audio.sample_calls import SampleCallWriter

        records = SampleCallWriter(audio, seed=seed, limit=audio_calls).map(records)
        every = 50
    raw = gzip.open(path, "wb", compresslevel=5) if path.suffix == ".gz" else path.open("wb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out:
        for k, record in enumerate(records, 1):
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            if progress is not None and k % every == 0:
                progress(k)
    if progress is not None:
        progress(n)
    return path
