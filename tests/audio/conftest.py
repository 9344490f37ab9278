"""Real espeak-ng calls for the audio tests: short, scripted, with exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convolab.audio.metrics import timing_metrics
from convolab.audio.synthesis import AUDIO_FORMATS, Speaker, Voice, add_noise, mix, write_audio

CUSTOMER = Voice("en-us+f3", 160, 60)
AGENT = Voice("en-gb+f2", 165, 55)

# (channel, text, gap_s): gap after the end of all speech so far; negative = talk over it.
SCRIPT: list[tuple[int, str, float]] = [
    (1, "Hi, thanks for calling Northwind. How can I help you today?", 0.6),
    (0, "I'm calling about my high bill, it doubled this month.", 0.7),
    (1, "Let me look into that for you.", 0.9),      # agent latency 900 ms
    (1, "Thanks, one moment while I check.", 0.8),   # the agent goes on
    (0, "Okay.", 6.5),                               # dead air: 6.5 s of silence
    (1, "I've found your account, and I can see the charge.", 3.6),  # slow reply: 3.6 s
    (0, "Wait, what do you mean by pending?", -0.8),  # the customer barges in: 0.8 s overlap
    (1, "Pending means the payment has not cleared yet.", 0.6),
    (0, "I don't understand this charge at all, it makes no sense.", 0.5),
    (1, "I understand, let me explain it again.", -0.7),  # the agent talks over the customer
    (0, "Great, thank you for sorting that out.", 0.4),
    (1, "You're all set. Thanks for contacting Northwind.", 0.3),  # short latency
]


@dataclass
class Call:
    """A rendered call and its truth."""

    path: Path
    truth: dict[str, Any]
    intervals: list[tuple[int, float, float]] = field(default_factory=list)


@pytest.fixture(scope="session")
def speaker() -> Speaker:
    return Speaker()


def render(speaker: Speaker, folder: Path, name: str, *, fmt: str = "wav8k", customer: Voice = CUSTOMER,
           agent: Voice = AGENT, gains_db: tuple[float, float] = (-3.0, -3.0), snr_db: float | None = None,
           script: list[tuple[int, str, float]] = SCRIPT, lead_s: float = 0.8, tail_s: float = 1.2,
           mono: bool = False, seed: int = 0) -> Call:
    """Speak ``script`` into ``folder/name`` and return it with its ground truth."""
    sr = AUDIO_FORMATS[fmt][2]
    voices = {0: customer, 1: agent}
    clips, intervals = [], []
    floor_end = 0.0
    for k, (channel, text, gap) in enumerate(script):
        clip = speaker(text, voices[channel], sr)
        start = lead_s if k == 0 else floor_end + gap
        clips.append((channel, start, clip, 10 ** (gains_db[channel] / 20)))
        intervals.append((channel, start, start + len(clip) / sr))
        floor_end = max(floor_end, start + len(clip) / sr)
    duration = floor_end + tail_s
    audio = mix(clips, duration, sr)
    if snr_db is not None:
        audio = add_noise(audio, np.random.default_rng(seed), snr_db, sample_rate=sr)
    if mono:
        audio = audio.sum(axis=0, keepdims=True)
    path = folder / f"{name}{AUDIO_FORMATS[fmt][3]}"
    write_audio(path, audio, fmt)
    truth = timing_metrics([(s, e) for c, s, e in intervals if c == 0], [(s, e) for c, s, e in intervals if c == 1],
                           duration)
    truth["duration_s"] = duration
    return Call(path, truth, intervals)


@pytest.fixture(scope="session")
def calls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("calls")


@pytest.fixture(scope="session")
def clean_call(speaker: Speaker, calls_dir: Path) -> Call:
    """The scripted call, 8 kHz PCM16 WAV, no noise."""
    return render(speaker, calls_dir, "clean")
