"""Sample call recordings for generated phone conversations, with their ground truth.

:func:`convolab.generate.write_conversations` calls this when asked for audio
(``convolab generate --audio DIR``). For each phone conversation it:

1. **times the call from real speech.** The generator's transcript times are
   chat-like (a message every 2-9 s, whole seconds), which spoken aloud would give dead
   air or overlaps nobody planted. So each message is spoken first (espeak-ng, cached)
   and the call is laid out on the clock of its real speech: a message starts a
   natural pause after the previous speech ends (agent replies 0.45-1.9 s, customer
   replies 0.25-1.6 s). Long waits the generator planted on purpose (>= 15 s: a slow
   agent reply, a customer abandoning while waiting) are kept as they are. The record's
   message, function and end times are rewritten to this clock (millisecond
   precision), so the transcript and the recording agree to the millisecond. A planted
   ``duration_anomaly`` keeps the transcript's slow spacing, or it would not be long;
2. **plants audio conditions** at realistic rates (:data:`AUDIO_PLANTED`): dead air
   (6.5-12 s of silence after the agent speaks), a slow agent reply (3.4-4.6 s), the
   agent talking over the customer and the customer barging in on the agent (0.5-1.5 s
   of overlap). Ordinary turns stay clear of every threshold (pauses under 2 s,
   near-miss overlaps under 0.12 s), so the truth is unambiguous;
3. **speaks the call**: customer on the left channel, agent on the right, each
   message placed at its start time with a per-call gain, sometimes with background
   noise or mains hum, written as 8 kHz PCM16 WAV, 8 kHz mu-law WAV, 8 kHz MP3 or
   16 kHz WAV (:data:`FORMAT_WEIGHTS`);
4. **records the truth**: ``<id>.truth.json`` beside the recording holds the spoken
   intervals and the events measured from them with :mod:`convolab.audio.metrics`
   (the same definitions the analysis uses), and the conversation's ``ground_truth``
   gains the audio criteria that hold: :data:`AUDIO_LABELS`.

Audio randomness comes from its own RNG per conversation, so the conversation
records themselves (and every other planted condition) are the same with or without
audio, apart from the re-timing.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from convolab.audio.metrics import MetricOptions, timing_metrics
from convolab.audio.synthesis import (
    AGENT_VOICES,
    AUDIO_FORMATS,
    CUSTOMER_VOICES,
    Speaker,
    Voice,
    add_noise,
    mix,
    write_audio,
)

__all__ = [
    "AUDIO_LABELS",
    "AUDIO_PLANTED",
    "FORMAT_WEIGHTS",
    "SLOW_LATENCY_S",
    "CallPlan",
    "SampleCallWriter",
    "Utterance",
    "plan_call",
]

#: The ground-truth criteria a recording can add to a conversation.
AUDIO_LABELS = ("dead_air", "slow_agent_latency", "agent_interrupts_customer")
#: ``slow_agent_latency`` holds when some agent reply came this many seconds after the customer stopped.
SLOW_LATENCY_S = 3.0
DEAD_AIR_S = 5.0  # the default dead-air threshold the truth is measured with
#: How often each audio condition is planted (fraction of recorded phone calls). Dead air
#: also arises from the generator's own long waits (slow_agent_response, abandoned_after_wait).
AUDIO_PLANTED: dict[str, float] = {
    "dead_air": 0.07,
    "slow_agent_latency": 0.06,
    "agent_interrupts_customer": 0.06,
    "customer_interrupts_agent": 0.08,
}
FORMAT_WEIGHTS: dict[str, float] = {"wav8k": 0.5, "ulaw8k": 0.2, "mp3": 0.1, "wav16k": 0.2}

_SIDE = {"customer": 0, "agent": 1, "human_agent": 1}  # channel: 0 left (customer), 1 right (agent)
_KEEP_WAIT_S = 15.0  # transcript gaps this long were planted by the generator: keep them
_MIN_INTERRUPTED_S = 1.4  # only speech this long gets interrupted (there is time to talk over it)


@dataclass(frozen=True)
class Utterance:
    """One spoken message: ``channel`` 0 (customer, left) or 1 (agent, right)."""

    message: int
    role: str
    channel: int
    text: str
    start_s: float
    end_s: float


@dataclass
class CallPlan:
    """When everything in a call happens, in seconds from the start of the recording."""

    utterances: list[Utterance]
    duration_s: float
    message_offsets: list[float]
    function_offsets: list[float]
    planted: dict[str, int]  # audio condition -> index (in spoken order) of the turn it was planted at


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _iso_ms(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def recordable(record: dict[str, Any]) -> bool:
    """A finished phone call in which the customer says something."""
    return (record.get("platform") == "phone" and record.get("ended_at") is not None
            and any(m.get("role") == "customer" for m in record.get("messages") or []))


def _choose_plants(spoken: list[int], msgs: list[dict[str, Any]], dur: list[float], gaps: list[float],
                   rng: random.Random) -> dict[str, int]:
    """Pick at most one turn (index into ``spoken``) per audio condition."""
    side = [_SIDE[msgs[k]["role"]] for k in spoken]
    turns = range(1, len(spoken))
    ok = [j for j in turns if gaps[j] < _KEEP_WAIT_S]
    candidates = {
        "agent_interrupts_customer": [j for j in ok if side[j - 1] == 0 and side[j] == 1
                                      and dur[j - 1] >= _MIN_INTERRUPTED_S and dur[j] >= 1.0],
        "customer_interrupts_agent": [j for j in ok if side[j - 1] == 1 and side[j] == 0
                                      and dur[j - 1] >= _MIN_INTERRUPTED_S and dur[j] >= 1.0],
        "slow_agent_latency": [j for j in ok if side[j - 1] == 0 and side[j] == 1],
        "dead_air": [j for j in ok if side[j - 1] == 1],
    }
    chosen: dict[str, int] = {}
    for condition, rate in AUDIO_PLANTED.items():
        draw = rng.random()  # always drawn, so one condition's candidates never shift another's dice
        free = [j for j in candidates[condition]
                if all(abs(j - other) > 1 for other in chosen.values())]
        if draw < rate and free:
            chosen[condition] = rng.choice(free)
    return chosen


def _clear_of_thresholds(pause: float, agent_reply: bool) -> float:
    """Move a pause out of the 0.4 s around the dead-air threshold (and, for an agent
    reply, the slow-latency one), so no truth hangs on a few milliseconds of detection."""
    for threshold in (DEAD_AIR_S, SLOW_LATENCY_S) if agent_reply else (DEAD_AIR_S,):
        if abs(pause - threshold) < 0.4:
            pause = threshold + 0.4 if pause >= threshold else threshold - 0.4
    return pause


def plan_call(record: dict[str, Any], speech_s: Callable[[int], float], rng: random.Random) -> CallPlan:
    """Lay a conversation out on the clock of its speech and plant audio conditions.

    Parameters
    ----------
    record
        A canonical conversation (its ``messages`` carry ``role``, ``text`` and ``at``).
    speech_s
        Seconds of speech of message ``k`` (its trimmed clip's length).
    rng
        The call's audio RNG.
    """
    msgs = record["messages"]
    t0 = _parse(record["started_at"])
    orig = [(_parse(m["at"]) - t0).total_seconds() for m in msgs]
    spoken = [k for k, m in enumerate(msgs) if m["role"] in _SIDE and (m.get("text") or "").strip()]
    dur = [speech_s(k) for k in spoken]
    gaps = [0.0] + [orig[spoken[j]] - orig[spoken[j - 1]] for j in range(1, len(spoken))]
    planted = _choose_plants(spoken, msgs, dur, gaps, rng)
    at_turn = {j: c for c, j in planted.items()}
    # A planted duration anomaly is long because of its slow cadence: keep the
    # transcript's spacing there (its silences are real dead air, and the truth says so).
    slow_cadence = "duration_anomaly" in (record.get("ground_truth") or [])

    offsets: list[float | None] = [None] * len(msgs)
    utterances: list[Utterance] = []
    floor_end = 0.0  # when the last speech so far ends
    for j, k in enumerate(spoken):
        side = _SIDE[msgs[k]["role"]]
        prev_side = _SIDE[msgs[spoken[j - 1]]["role"]] if j else None
        condition = at_turn.get(j)
        if j == 0:
            start = rng.uniform(0.3, 1.5)
        elif gaps[j] >= _KEEP_WAIT_S and prev_side == 0 and side == 1:
            start = floor_end + gaps[j]  # the generator's slow_agent_response: keep the wait
        elif condition in ("agent_interrupts_customer", "customer_interrupts_agent"):
            overlap = rng.uniform(0.5, min(1.5, dur[j - 1] - 0.6, dur[j] - 0.3))
            start = floor_end - overlap
        elif condition == "dead_air":
            start = floor_end + rng.uniform(6.5, 12.0)
        elif condition == "slow_agent_latency":
            start = floor_end + rng.uniform(3.4, 4.6)
        elif prev_side == 0 and side == 1:  # an ordinary agent reply
            start = floor_end + rng.uniform(0.45, 1.9)
        elif prev_side == 1 and side == 0:  # the customer answers; now and then a near-miss overlap
            start = floor_end - rng.uniform(0.05, 0.12) if rng.random() < 0.06 else floor_end + rng.uniform(0.25, 1.6)
        else:  # the same side goes on
            start = floor_end + rng.uniform(0.5, 1.6)
        if slow_cadence and j and condition is None:
            pause = _clear_of_thresholds(gaps[j] - dur[j - 1], prev_side == 0 and side == 1)
            start = max(start, floor_end + pause)
        end = start + dur[j]
        utterances.append(Utterance(k, msgs[k]["role"], side, msgs[k]["text"], round(start, 4), round(end, 4)))
        offsets[k] = start
        floor_end = max(floor_end, end)
    # Messages nobody speaks (system notes) sit just after the speech before them.
    ends = {u.message: u.end_s for u in utterances}
    last = 0.0
    for k in range(len(msgs)):
        if offsets[k] is None:
            offsets[k] = last + 0.3
        last = max(last, ends.get(k, offsets[k]))
    tail = (_parse(record["ended_at"]) - t0).total_seconds() - orig[-1] if msgs else 2.0
    duration = max(last, floor_end) + (tail if tail >= _KEEP_WAIT_S else rng.uniform(0.8, 2.5))
    new = [float(o) for o in offsets]  # type: ignore[arg-type]
    functions = []
    for f in record.get("functions") or []:
        tf = (_parse(f["at"]) - t0).total_seconds()
        i = bisect.bisect_right(orig, tf)
        lo_o, lo_n = (orig[i - 1], new[i - 1]) if i > 0 else (0.0, 0.0)
        hi_o, hi_n = (orig[i], new[i]) if i < len(orig) else (orig[-1] + tail, duration)
        frac = (tf - lo_o) / (hi_o - lo_o) if hi_o > lo_o else 0.5
        functions.append(lo_n + min(1.0, max(0.0, frac)) * (hi_n - lo_n))
    return CallPlan(utterances, round(duration, 3), new, functions, planted)


def call_truth(plan: CallPlan, options: MetricOptions | None = None) -> dict[str, Any]:
    """The metrics of a planned call, measured on its exact spoken intervals."""
    options = options or MetricOptions()
    segs = [[(u.start_s, u.end_s) for u in plan.utterances if u.channel == ch] for ch in (0, 1)]
    truth = timing_metrics(segs[0], segs[1], plan.duration_s, options)
    latencies = [r["latency_ms"] for r in truth["events"]["agent_replies"]]
    labels = []
    if truth["dead_air"]["count"]:
        labels.append("dead_air")
    if latencies and max(latencies) >= SLOW_LATENCY_S * 1000:
        labels.append("slow_agent_latency")
    if truth["interruptions"]["agent"]:
        labels.append("agent_interrupts_customer")
    truth["labels"] = labels
    return truth


@dataclass(frozen=True)
class _Render:
    fmt: str
    customer: Voice
    agent: Voice
    gains_db: tuple[float, float]
    noise_snr_db: float | None
    hum_hz: float | None


class SampleCallWriter:
    """Writes a recording and its truth for each phone conversation, in parallel.

    Parameters
    ----------
    directory
        Where recordings go; a record's ``recording`` becomes the file name relative to it.
    seed
        The generator's seed (audio draws come from ``(seed, index)``).
    limit
        Record at most this many calls (the first ones); None: every phone call.
    workers
        Threads; espeak-ng runs in its own processes and numpy, soxr and libsndfile
        release the GIL, so threads use both cores.
    conditions
        Fixed recording conditions instead of random ones, for robustness checks:
        any of ``fmt``, ``customer``, ``agent`` (:class:`Voice`), ``gains_db``,
        ``noise_snr_db``, ``hum_hz``.
    """

    def __init__(self, directory: str | Path, *, seed: int = 0, limit: int | None = None,
                 workers: int = 2, conditions: dict[str, Any] | None = None) -> None:
        self.conditions = dict(conditions or {})
        unknown = set(self.conditions) - {f.name for f in fields(_Render)}
        if unknown:
            raise ValueError(f"unknown recording conditions: {', '.join(sorted(unknown))}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.seed, self.limit, self.workers = seed, limit, workers
        self.speaker = Speaker()
        self.recorded = 0
        self.audio_s = 0.0
        self._lock = threading.Lock()

    def map(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Yield the records in order, each phone call re-timed and recorded."""
        chunk = 48
        with ThreadPoolExecutor(self.workers) as pool:
            pending: list[Any] = []
            batch: list[tuple[int, dict[str, Any]]] = []
            for index, record in enumerate(records, 1):
                batch.append((index, record))
                if len(batch) == chunk:
                    pending.extend(self._submit(pool, batch))
                    batch = []
                    # keep one chunk rendering while the next is read and spoken
                    while len(pending) > chunk:
                        yield _result(pending.pop(0))
            pending.extend(self._submit(pool, batch))
            while pending:
                yield _result(pending.pop(0))

    def _submit(self, pool: ThreadPoolExecutor, batch: list[tuple[int, dict[str, Any]]]) -> list[Any]:
        out: list[Any] = []
        wanted = []
        for index, record in batch:
            if recordable(record) and (self.limit is None or self.recorded < self.limit):
                self.recorded += 1
                render = self._render(random.Random(f"convolab-audio:{self.seed}:{index}"))
                voice = {0: render.customer, 1: render.agent}
                wanted += [(m["text"], voice[_SIDE[m["role"]]]) for m in record["messages"] if m["role"] in _SIDE]
                out.append((index, record))
            else:
                if record.get("platform") == "phone":
                    record = {**record, "recording": None}  # no recording was made for it
                out.append(record)
        self.speaker.prefetch(wanted, self.workers)  # a few espeak-ng runs instead of one per line
        return [pool.submit(self.record_call, item[1], item[0]) if isinstance(item, tuple) else item
                for item in out]

    def _render(self, rng: random.Random) -> _Render:
        fmt = rng.choices(list(FORMAT_WEIGHTS), list(FORMAT_WEIGHTS.values()))[0]
        noisy = rng.random() < 0.5
        return replace(self._random_render(rng, fmt, noisy), **self.conditions)

    @staticmethod
    def _random_render(rng: random.Random, fmt: str, noisy: bool) -> _Render:
        return _Render(
            fmt=fmt, customer=rng.choice(CUSTOMER_VOICES), agent=rng.choice(AGENT_VOICES),
            gains_db=(round(rng.uniform(-12, -1), 1), round(rng.uniform(-8, -1), 1)),
            noise_snr_db=round(rng.uniform(20, 35), 1) if noisy else None,
            hum_hz=rng.choice([50.0, 60.0]) if noisy and rng.random() < 0.2 else None,
        )

    def record_call(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        """Re-time ``record``, write its recording and truth, and return the updated record."""
        rng = random.Random(f"convolab-audio:{self.seed}:{index}")
        render = self._render(rng)
        _container, _subtype, sr, suffix = AUDIO_FORMATS[render.fmt]
        msgs = record["messages"]
        voice = {0: render.customer, 1: render.agent}

        def clip(k: int) -> np.ndarray:
            return self.speaker(msgs[k]["text"], voice[_SIDE[msgs[k]["role"]]], sr)

        plan = plan_call(record, lambda k: len(clip(k)) / sr, rng)
        gains = [10 ** (g / 20) for g in render.gains_db]
        audio = mix([(u.channel, u.start_s, clip(u.message), gains[u.channel]) for u in plan.utterances],
                    plan.duration_s, sr)
        if render.noise_snr_db is not None:
            audio = add_noise(audio, np.random.default_rng(rng.getrandbits(64)), render.noise_snr_db,
                              sample_rate=sr, hum_hz=render.hum_hz)
        name = f"{record['id']}{suffix}"
        write_audio(self.directory / name, audio, render.fmt)
        truth = call_truth(plan)
        sidecar = {
            "id": record["id"], "recording": name, "format": render.fmt, "sample_rate": sr,
            "channels": {"left": "customer", "right": "agent"}, "duration_s": plan.duration_s,
            "render": asdict(render), "planted": sorted(plan.planted),
            "utterances": [asdict(u) for u in plan.utterances], **truth,
        }
        (self.directory / f"{record['id']}.truth.json").write_text(json.dumps(sidecar, indent=1))
        with self._lock:
            self.audio_s += plan.duration_s
        return _retimed(record, plan, name, truth["labels"])


def _retimed(record: dict[str, Any], plan: CallPlan, name: str, labels: list[str]) -> dict[str, Any]:
    t0 = _parse(record["started_at"])

    def at(offset: float) -> str:
        return _iso_ms(t0 + timedelta(seconds=round(offset, 3)))

    out = dict(record)
    out["messages"] = [{**m, "at": at(o)} for m, o in zip(record["messages"], plan.message_offsets, strict=True)]
    out["functions"] = [{**f, "at": at(o)} for f, o in zip(record.get("functions") or [], plan.function_offsets,
                                                           strict=True)]
    out["ended_at"] = at(plan.duration_s)
    out["recording"] = name
    out["ground_truth"] = sorted(set(record.get("ground_truth") or []) | set(labels))
    return out


def _result(item: Any) -> dict[str, Any]:
    return item.result() if hasattr(item, "result") else item
