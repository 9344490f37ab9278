"""Voice activity detection per channel: where each side of a call is speaking.

Two detectors, with the same output (``(k, 2)`` arrays of ``[start_s, end_s]``):

- :func:`energy_segments` (the default): speech-band energy from librosa's STFT in
  10 ms hops, double-threshold (hysteresis) detection relative to the channel's own
  noise floor and speech level, then minimum silence and speech durations. Vectorised
  over frames; thousands of times faster than real time.
- :func:`silero_segments`: the silero-vad neural detector (``pip install silero-vad``;
  its weights ship in the package and it runs offline on torch CPU). Measured, not the
  default: see ``bench/audio.py`` and ``NOTES-audio.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["VADS", "VadOptions", "energy_segments", "frame_levels", "silero_segments"]


@dataclass(frozen=True)
class VadOptions:
    """Settings of the energy detector.

    Parameters
    ----------
    hop_s
        Frame hop (time resolution of segment boundaries).
    band_hz
        The speech band whose energy is measured: below it sit hum and rumble, above
        it hiss; telephone speech lives in 300-3400 Hz.
    floor_percentile, speech_percentile
        The channel's noise floor and speech level are these percentiles of its frame
        levels (each side of a call is silent while the other talks, so the 10th
        percentile is the line's own noise).
    start_above_floor_db, start_below_speech_db
        A segment must reach ``max(floor + start_above_floor_db, speech - start_below_speech_db)``.
    end_above_floor_db, end_below_speech_db
        It extends while above ``max(floor + end_above_floor_db, speech - end_below_speech_db)``
        (the lower threshold, so word tails stay in).
    max_range_db
        The floor is taken no lower than ``speech - max_range_db``: digitally silent lines
        (floor -inf) would otherwise count codec noise as speech.
    min_range_db
        A channel whose speech level is not this far above its floor has no speech.
    tail_ms_per_db, max_tail_s
        When noise hides the quiet end of words (the end threshold is above
        ``speech - end_below_speech_db``), segment ends are moved later by this many ms
        per hidden dB, at most ``max_tail_s``: speech fades out at roughly that rate, so
        this undoes most of the early cut-off that noise causes (and does nothing on a
        clean line).
    min_silence_s
        Pauses shorter than this within one side's speech do not split it (sentence
        and breath pauses are part of the turn).
    min_speech_s
        Shorter bursts are dropped (clicks, line noise).
    """

    hop_s: float = 0.010
    band_hz: tuple[float, float] = (250.0, 3400.0)
    floor_percentile: float = 10.0
    speech_percentile: float = 99.0
    start_above_floor_db: float = 10.0
    start_below_speech_db: float = 40.0
    end_above_floor_db: float = 5.0
    end_below_speech_db: float = 45.0
    max_range_db: float = 60.0
    min_range_db: float = 12.0
    tail_ms_per_db: float = 2.0
    max_tail_s: float = 0.06
    min_silence_s: float = 0.5
    min_speech_s: float = 0.1


def frame_levels(samples: np.ndarray, sample_rate: int, options: VadOptions = VadOptions()) -> tuple[np.ndarray, float]:
    """Speech-band level in dB of each frame (librosa STFT), for every channel at once.

    Returns ``(levels, hop_s)``: ``levels`` is ``(channels, frames)``; frame ``k`` is
    centred on ``k * hop_s``.
    """
    import librosa

    x = np.atleast_2d(samples)
    hop = max(1, int(round(sample_rate * options.hop_s)))
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sample_rate)))  # ~32 ms window: 256 at 8 kHz
    spec = librosa.stft(x, n_fft=n_fft, hop_length=hop, center=True, window="hann")
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    lo, hi = options.band_hz
    band = (freqs >= lo) & (freqs <= min(hi, 0.47 * sample_rate))
    spec = spec[:, band, :]
    energy = (spec.real**2 + spec.imag**2).sum(axis=1) / n_fft
    return 10.0 * np.log10(energy + 1e-12), hop / sample_rate


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) frame indices of the True runs of ``mask``."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def segments_from_levels(levels: np.ndarray, hop_s: float, options: VadOptions = VadOptions()) -> np.ndarray:
    """Hysteresis detection on one channel's frame levels (dB); ``(k, 2)`` seconds."""
    empty = np.empty((0, 2))
    if levels.size == 0:
        return empty
    floor, speech = np.percentile(levels, [options.floor_percentile, options.speech_percentile])
    if speech - floor < options.min_range_db:
        return empty
    floor = max(floor, speech - options.max_range_db)
    start_db = max(floor + options.start_above_floor_db, speech - options.start_below_speech_db)
    end_db = max(floor + options.end_above_floor_db, speech - options.end_below_speech_db)
    starts, ends = _runs(levels > end_db)
    if len(starts) == 0:
        return empty
    # Join runs separated by pauses shorter than min_silence_s, then keep the groups
    # that somewhere reach the start threshold.
    gap = starts[1:] - ends[:-1]
    first = np.flatnonzero(np.r_[True, gap * hop_s >= options.min_silence_s])
    g_start = starts[first]
    g_end = ends[np.r_[first[1:] - 1, len(ends) - 1]]
    peak = np.maximum.reduceat(np.where(levels > end_db, levels, -np.inf), g_start)
    keep = peak >= start_db
    hidden_db = end_db - (speech - options.end_below_speech_db)
    tail = min(options.max_tail_s, options.tail_ms_per_db * hidden_db / 1000.0)
    # frame k covers (k - 1/2, k + 1/2) hops around its centre
    seg = np.column_stack([(g_start[keep] - 0.5) * hop_s, (g_end[keep] - 0.5) * hop_s + tail])
    seg = np.clip(seg, 0.0, None)
    if len(seg) > 1:  # a tail never runs into the next segment
        seg[:-1, 1] = np.minimum(seg[:-1, 1], seg[1:, 0])
    return seg[seg[:, 1] - seg[:, 0] >= options.min_speech_s]


def energy_segments(samples: np.ndarray, sample_rate: int, options: VadOptions = VadOptions()) -> list[np.ndarray]:
    """Speech segments of each channel of ``samples`` (``(channels, n)`` or ``(n,)``)."""
    levels, hop_s = frame_levels(samples, sample_rate, options)
    duration = np.atleast_2d(samples).shape[1] / sample_rate
    return [np.clip(segments_from_levels(levels[ch], hop_s, options), 0.0, duration)
            for ch in range(levels.shape[0])]


_SILERO: dict[str, Any] = {}


def silero_segments(samples: np.ndarray, sample_rate: int, options: VadOptions = VadOptions()) -> list[np.ndarray]:
    """Speech segments of each channel with silero-vad (8 or 16 kHz; others are resampled).

    Uses the same minimum silence and speech durations as the energy detector, and no
    padding, so both describe speech the same way.
    """
    try:
        import torch
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as exc:
        from convolab.errors import MissingExtra

        raise MissingExtra("silero-vad", "audio") from exc
    x = np.atleast_2d(samples)
    if sample_rate not in (8000, 16000):
        import librosa

        x = librosa.resample(x, orig_sr=sample_rate, target_sr=16000, res_type="soxr_hq")
        sample_rate = 16000
    if "model" not in _SILERO:
        _SILERO["model"] = load_silero_vad()
    model = _SILERO["model"]
    out = []
    for ch in range(x.shape[0]):
        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(x[ch], dtype=np.float32)), model, sampling_rate=sample_rate,
            threshold=0.5, min_speech_duration_ms=int(options.min_speech_s * 1000),
            min_silence_duration_ms=int(options.min_silence_s * 1000), speech_pad_ms=0)
        seg = np.array([[s["start"], s["end"]] for s in stamps], dtype=np.float64).reshape(-1, 2) / sample_rate
        out.append(seg)
    return out


#: Detectors by name (``convolab audio --vad NAME``).
VADS: dict[str, Callable[..., list[np.ndarray]]] = {"energy": energy_segments, "silero": silero_segments}
