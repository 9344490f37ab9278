"""Analyse a call recording: one JSON document of talk, dead air, latency and interruptions.

>>> from convolab.audio import analyse_file
>>> doc = analyse_file("calls/c-0000001.wav")          # doctest: +SKIP
>>> doc["agent_latency_ms"], doc["dead_air"], doc["interruptions"]   # doctest: +SKIP

Stereo recordings carry the customer on the left channel and the agent on the right
(Twilio's dual-channel convention; ``AudioOptions.customer_channel`` swaps them). A
mono recording mixes both sides, so only dead air, loudness and clipping can be
measured; the per-side figures are None and the document says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from convolab.audio.metrics import (
    MetricOptions,
    level_dbfs,
    mono_metrics,
    speech_rate_wpm,
    timing_metrics,
)
from convolab.audio.recordings import MAX_DURATION_S, Recording, load_recording
from convolab.audio.vad import VADS, VadOptions

__all__ = ["AudioOptions", "analyse_file", "analyse_recording"]

#: Samples at or above this magnitude (-0.26 dBFS) count as clipped; mu-law's largest
#: code decodes to 0.98 of full scale, so a lower bound than 1.0 is needed to see it.
CLIP_LEVEL = 0.97
MONO_NOTE = ("mono recording: both sides share one channel, so only dead air, loudness and clipping "
             "are measured (talk time, latency and interruptions need customer and agent on separate channels)")


@dataclass(frozen=True)
class AudioOptions:
    """How a recording is analysed.

    Parameters
    ----------
    dead_air_s
        Shortest silence of both sides that is dead air (default 5 s).
    min_overlap_s
        Shortest overlap that makes talking over the other side an interruption (default 0.3 s).
    vad
        Voice activity detector: ``"energy"`` (default) or ``"silero"``.
    customer_channel
        0 when the customer is on the left channel (the default), 1 when on the right.
    max_duration_s
        Longer recordings are refused before decoding.
    vad_options
        Thresholds of the energy detector.
    """

    dead_air_s: float = 5.0
    min_overlap_s: float = 0.3
    vad: str = "energy"
    customer_channel: int = 0
    max_duration_s: float = MAX_DURATION_S
    vad_options: VadOptions = field(default_factory=VadOptions)

    def __post_init__(self) -> None:
        if self.vad not in VADS:
            raise ValueError(f"unknown VAD {self.vad!r}; choose one of {', '.join(VADS)}")
        if self.customer_channel not in (0, 1):
            raise ValueError("customer_channel must be 0 (left) or 1 (right)")
        if self.dead_air_s <= 0 or self.min_overlap_s <= 0:
            raise ValueError("dead_air_s and min_overlap_s must be positive")

    @property
    def metric_options(self) -> MetricOptions:
        return MetricOptions(dead_air_s=self.dead_air_s, min_overlap_s=self.min_overlap_s)


def _messages(transcript: Any) -> Sequence[Mapping[str, Any]] | None:
    if transcript is None:
        return None
    if isinstance(transcript, Mapping):
        transcript = transcript.get("messages") or transcript.get("transcript") or []
    return list(transcript)


def analyse_file(path: str | os.PathLike[str], *, transcript: Any = None,
                 options: AudioOptions | None = None) -> dict[str, Any]:
    """Analyse one call recording.

    Parameters
    ----------
    path
        A WAV (PCM, mu-law, A-law), MP3, FLAC or OGG file; stereo with the customer on
        the left and the agent on the right, or mono.
    transcript
        Optional messages (dicts with ``role`` and ``text``), or a conversation with
        ``messages``: gives the speech rate in words per minute.
    options
        Thresholds and detector (:class:`AudioOptions`).

    Returns
    -------
    dict
        ``duration_s``, ``channels``, ``talk_s`` {customer, agent}, ``talk_ratio`` (the
        agent's share of talk), ``dead_air`` {count, total_s, longest_s},
        ``agent_latency_ms`` {p50, p95, max, n}, ``interruptions`` {agent, customer},
        ``overtalk_s``, ``loudness_dbfs`` {mean, peak}, ``segments`` [{channel, start_s,
        end_s}], plus ``talk_share`` {customer, agent}, ``sample_rate``, ``mono``, ``note``,
        ``channel_loudness_dbfs``,
        ``clipping`` {ratio, samples}, ``speech_rate_wpm``, ``events`` (each dead-air
        stretch, agent reply and interruption) and ``analysis`` (settings used).

    Raises
    ------
    convolab.errors.RecordingNotReadable
        Missing, empty, corrupt, truncated, non-audio or too long, with a one-line reason.
    """
    options = options or AudioOptions()
    recording = load_recording(path, max_duration_s=options.max_duration_s)
    return analyse_recording(recording, transcript=transcript, options=options)


def analyse_recording(recording: Recording, *, transcript: Any = None,
                      options: AudioOptions | None = None) -> dict[str, Any]:
    """:func:`analyse_file` on already decoded samples."""
    options = options or AudioOptions()
    x, sr = recording.samples, recording.sample_rate
    duration = recording.duration_s
    segs = VADS[options.vad](x, sr, options.vad_options)
    mono = recording.channels == 1
    if mono:
        timing = mono_metrics(segs[0], duration, options.metric_options)
        names = ["mixed"]
        channel_segs = {"mixed": segs[0]}
    else:
        c, a = segs[options.customer_channel], segs[1 - options.customer_channel]
        timing = timing_metrics(c, a, duration, options.metric_options)
        names = ["customer", "agent"]
        channel_segs = {"customer": c, "agent": a}
    by_name = {"mixed": x[0]} if mono else {"customer": x[options.customer_channel],
                                             "agent": x[1 - options.customer_channel]}
    # one level over both sides' speech: channels laid end to end, segments shifted alike
    loud = level_dbfs(np.concatenate([by_name[n] for n in names]), sr,
                      np.concatenate([channel_segs[n] + i * duration for i, n in enumerate(names)]))
    clipped = int(np.count_nonzero(np.abs(x) >= CLIP_LEVEL))
    messages = _messages(transcript)
    events = timing.pop("events")
    segments = sorted(
        ({"channel": name, "start_s": round(float(s), 3), "end_s": round(float(e), 3)}
         for name, arr in channel_segs.items() for s, e in arr),
        key=lambda d: (d["start_s"], d["channel"]))
    return {
        "duration_s": round(duration, 3),
        "channels": recording.channels,
        "sample_rate": recording.native_rate,
        "mono": mono,
        "note": MONO_NOTE if mono else None,
        **timing,
        "loudness_dbfs": loud,
        "channel_loudness_dbfs": None if mono else {n: level_dbfs(by_name[n], sr, channel_segs[n]) for n in names},
        "clipping": {"ratio": round(clipped / x.size, 6), "samples": clipped},
        "speech_rate_wpm": (speech_rate_wpm(messages, timing["talk_s"])
                            if messages is not None and not mono else None),
        "segments": segments,
        "events": events,
        "analysis": {
            "vad": options.vad, "dead_air_s": options.dead_air_s, "min_overlap_s": options.min_overlap_s,
            "customer_channel": "left" if options.customer_channel == 0 else "right",
            "format": recording.format, "subtype": recording.subtype, "analysed_rate": sr,
            **({"vad_options": asdict(options.vad_options)} if options.vad == "energy" else {}),
        },
    }
