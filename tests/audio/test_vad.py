"""The energy detector on synthetic signals: what counts as speech, and where it starts and ends."""

from __future__ import annotations

import numpy as np
import pytest

from convolab.audio.vad import VadOptions, energy_segments

SR = 8000


def _burst(x: np.ndarray, start: float, end: float, amp: float = 0.3, f0: float = 180.0) -> None:
    """A voiced-like burst: harmonics of f0 in the speech band."""
    t = np.arange(int(start * SR), int(end * SR)) / SR
    x[int(start * SR): int(end * SR)] += amp * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12)) / 3


def _noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_silence_and_steady_noise_are_not_speech():
    assert energy_segments(np.zeros(SR * 3, np.float32), SR)[0].shape == (0, 2)
    assert energy_segments(_noise(5, 0.05), SR)[0].shape == (0, 2)


@pytest.mark.parametrize("noise", [0.0, 0.003, 0.01])
def test_a_burst_is_found_where_it_is(noise):
    x = _noise(4, noise) if noise else np.zeros(SR * 4, np.float32)
    _burst(x, 1.0, 2.2)
    (seg,) = energy_segments(x, SR)
    assert seg.shape == (1, 2)
    # the end may run late by the noise-tail compensation (<= 80 ms): this burst stops dead
    # where speech would fade
    assert abs(seg[0, 0] - 1.0) <= 0.03 and -0.03 <= seg[0, 1] - 2.2 <= 0.11


def test_short_pauses_join_and_long_ones_split():
    x = np.zeros(SR * 6, np.float32)
    _burst(x, 0.5, 1.5)
    _burst(x, 1.8, 2.5)  # 0.3 s pause: one turn
    _burst(x, 3.5, 4.5)  # 1.0 s pause: a new segment
    seg = energy_segments(x, SR, VadOptions(min_silence_s=0.5))[0]
    assert len(seg) == 2 and seg[0, 1] == pytest.approx(2.5, abs=0.1)


def test_clicks_are_dropped_and_hum_is_ignored():
    x = _noise(4, 0.002)
    x[SR: SR + 80] += 0.8  # a 10 ms click
    t = np.arange(len(x)) / SR
    x += (0.2 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)  # loud mains hum, under the speech band
    _burst(x, 2.0, 3.0, amp=0.1)
    (seg,) = energy_segments(x, SR)
    assert len(seg) == 1 and abs(seg[0, 0] - 2.0) <= 0.03


def test_channels_are_independent_and_gain_does_not_matter():
    stereo = np.zeros((2, SR * 4), np.float32)
    _burst(stereo[0], 0.5, 1.5, amp=0.5)
    _burst(stereo[1], 2.0, 3.0, amp=0.5 * 10 ** (-30 / 20))  # the agent 30 dB quieter
    left, right = energy_segments(stereo, SR)
    assert len(left) == 1 and len(right) == 1
    assert abs(right[0, 0] - 2.0) <= 0.03 and abs(left[0, 1] - 1.5) <= 0.05
