"""Voice activity detection per channel: where each side of a call is speaking.

Two detectors, with the same output (``(k, 2)`` arrays of ``[start_s, end_s]``):

- :func:`energy_segments` (the default): speech-band energy from librosa's STFT in
  10 ms hops, double-threshold (hysteresis) detection relative to the channel's own
  noise floor and speech level, then minimum silence and speech durations. Vectorised
  over frames; thousands of times faster than real time.
- :func:`silero_segments`: the silero-vad neural detector (``pip install 'convolab[silero]'``;
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
    edge_above_floor_db, max_edge_s
        Segment boundaries then move outwards while the level stays above
        ``max(floor + edge_above_floor_db, speech - end_below_speech_db)``, by at most
        ``max_edge_s`` (weak onsets and fading ends just above the noise).
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
    edge_above_floor_db: float = 2.5
    max_edge_s: float = 0.15
    tail_ms_per_db: float = 2.5
    max_tail_s: float = 0.08
    min_silence_s: float = 0.5
    min_speech_s: float = 0.1


_FILTERS: dict[tuple[int, float, float], np.ndarray] = {}


def _band_filter(sample_rate: int, band_hz: tuple[float, float]) -> np.ndarray:
    key = (sample_rate, *band_hz)
    if key not in _FILTERS:
        from scipy.signal import butter

        lo, hi = band_hz
        _FILTERS[key] = butter(4, [lo, min(hi, 0.45 * sample_rate)], btype="bandpass", fs=sample_rate,
                               output="sos")
    return _FILTERS[key]


def frame_levels(samples: np.ndarray, sample_rate: int, options: VadOptions = VadOptions()) -> tuple[np.ndarray, float]:
    """Speech-band level in dB of each frame, for every channel at once.

    The signal is band-passed (4th-order Butterworth, forwards and backwards so no
    delay shifts the boundaries), then librosa's frame RMS is taken over ~32 ms
    windows every ``hop_s``. An STFT summed over the band gives the same levels at
    ~8x the cost. Returns ``(levels, hop_s)``: ``levels`` is ``(channels, frames)``;
    frame ``k`` is centred on ``k * hop_s``.
    """
    import librosa
    from scipy.signal import sosfiltfilt

    x = np.atleast_2d(samples)
    hop = max(1, int(round(sample_rate * options.hop_s)))
    frame = 1 << int(np.ceil(np.log2(0.032 * sample_rate)))  # ~32 ms: 256 at 8 kHz
    band = sosfiltfilt(_band_filter(sample_rate, options.band_hz), x, axis=-1).astype(np.float32)
    rms = librosa.feature.rms(y=band, frame_length=frame, hop_length=hop, center=True)[..., 0, :]
    return 20.0 * np.log10(rms + 1e-6), hop / sample_rate


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
    # short bursts (clicks, line noise) go before the edges and tail would lengthen them
    keep = (peak >= start_db) & ((g_end - g_start) * hop_s >= options.min_speech_s)
    g_start, g_end = g_start[keep], g_end[keep]
    # Edges: weak onsets (f, th, s) and fading word ends sit just above the noise. Move
    # each boundary outwards along the run of frames above a lower threshold, at most
    # max_edge_s: a contiguous run, so a lone noise frame cannot drag it far.
    edge_db = max(floor + options.edge_above_floor_db, speech - options.end_below_speech_db)
    if len(g_start) and edge_db < end_db:
        low_starts, low_ends = _runs(levels > edge_db)
        reach = int(round(options.max_edge_s / hop_s))
        i = np.searchsorted(low_starts, g_start, side="right") - 1  # the low run holding each start
        g_start = np.maximum(low_starts[i], g_start - reach)
        j = np.searchsorted(low_starts, g_end - 1, side="right") - 1  # ... and each last frame
        g_end = np.minimum(low_ends[j], g_end + reach)
    hidden_db = edge_db - (speech - options.end_below_speech_db)
    tail = min(options.max_tail_s, options.tail_ms_per_db * hidden_db / 1000.0)
    # frame k covers (k - 1/2, k + 1/2) hops around its centre
    seg = np.column_stack([(g_start - 0.5) * hop_s, (g_end - 0.5) * hop_s + tail])
    seg = np.clip(seg, 0.0, None)
    if len(seg) > 1:  # a tail never runs into the next segment
        seg[:-1, 1] = np.minimum(seg[:-1, 1], seg[1:, 0])
    return seg


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

        raise MissingExtra("silero-vad", "silero") from exc
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
