"""Speech for sample phone calls: Debian's espeak-ng, mixed onto two channels and encoded.

This module knows how to *speak* and how to *write a recording*; which words are
said when is decided by :mod:`convolab.audio.sample_calls`.

espeak-ng starts a process per utterance (about 20 ms), so :class:`Speaker` caches
each (voice, text, sample rate) it has spoken: a demo's few hundred calls reuse a few
hundred stock lines, so most utterances cost a dictionary look-up. Clips are trimmed
to their speech (the first and last 5 ms frame within 45 dB of the clip's loudest
frame), so a clip placed at time t starts speaking at t: that is the ground truth.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convolab.errors import ConvolabError

__all__ = [
    "AGENT_VOICES",
    "AUDIO_FORMATS",
    "CUSTOMER_VOICES",
    "Speaker",
    "Voice",
    "add_noise",
    "espeak",
    "mix",
    "write_audio",
]

#: name -> (soundfile format, subtype, sample rate, file suffix). Twilio records 8 kHz
#: mu-law or PCM WAV and offers MP3; 16 kHz WAV is what wideband SIP trunks give.
AUDIO_FORMATS: dict[str, tuple[str, str, int, str]] = {
    "wav8k": ("WAV", "PCM_16", 8000, ".wav"),
    "ulaw8k": ("WAV", "ULAW", 8000, ".wav"),
    "mp3": ("MP3", "MPEG_LAYER_III", 8000, ".mp3"),
    "wav16k": ("WAV", "PCM_16", 16000, ".wav"),
}

# Trim clips at this level below their loudest 5 ms frame: the ground truth's notion
# of "speaking" (a tail 45 dB down is inaudible on a phone line).
_TRIM_DB = 45.0
_ESPEAK_RATE = 22_050
_NATIVE_RATE = 16_000  # espeak-ng's 22,050 Hz, brought to the highest rate recordings use
_TRIM_FRAME_S = 0.005


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``name`` (``-v``, e.g. ``en-us+f3``), ``speed`` in words per minute
    (``-s``) and ``pitch`` 0-99 (``-p``)."""

    name: str
    speed: int = 165
    pitch: int = 50


# Customers and agents never share a voice, so the two channels sound like two people.
CUSTOMER_VOICES: tuple[Voice, ...] = (
    Voice("en-us+f3", 160, 60), Voice("en-us+m3", 150, 40), Voice("en-gb-scotland+m2", 170, 45),
    Voice("en-029+f4", 175, 65), Voice("en-us-nyc+m1", 185, 50),
)
AGENT_VOICES: tuple[Voice, ...] = (Voice("en-gb+f2", 165, 55), Voice("en-gb-x-rp+m4", 170, 48))


class SpeechError(ConvolabError):
    """espeak-ng is missing or failed on a text."""


def espeak(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; return (mono float32 samples, sample rate).

    The text goes through stdin, never the command line, so a line that starts with
    ``-`` is spoken rather than read as an option.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    cmd = [exe, "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "--stdout"]
    done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0 or len(done.stdout) < 44:
        raise SpeechError(f"espeak-ng failed on {text[:40]!r}: {done.stderr.decode(errors='replace')[:200]}")
    return _parse_wav(done.stdout)


_BREAK_MS = 1500  # silence between texts spoken in one espeak-ng run
_SPLIT_S = 1.0  # no text has an inner pause this long; every break is longer


def espeak_many(texts: list[str], voice: Voice) -> list[np.ndarray] | None:
    """Speak several texts in one espeak-ng run (SSML, a long break between texts) and
    split the audio at the breaks: one process instead of one per text, about 4x
    cheaper. Returns clips at 22,050 Hz, or None when the split does not give one clip
    per text (the caller then speaks them one by one)."""
    from xml.sax.saxutils import escape

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    ssml = "<speak>" + "".join(f'<s>{escape(t)}</s><break time="{_BREAK_MS}ms"/>' for t in texts) + "</speak>"
    cmd = [exe, "-m", "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "--stdout"]
    done = subprocess.run(cmd, input=ssml.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0 or len(done.stdout) < 44:
        return None
    x, sr = _parse_wav(done.stdout)
    hop = sr // 100
    n = len(x) // hop
    active = np.abs(x[: n * hop]).reshape(n, hop).max(axis=1) > 1e-4
    d = np.diff(np.r_[0, active.astype(np.int8), 0])
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if len(starts) == 0:
        return None
    first = np.flatnonzero(np.r_[True, (starts[1:] - ends[:-1]) * 0.01 >= _SPLIT_S])
    if len(first) != len(texts):
        return None
    last = np.r_[first[1:] - 1, len(ends) - 1]
    # keep 20 ms either side: the exact trim happens later, at the target rate
    pad = 2 * hop
    return [x[max(0, starts[a] * hop - pad): ends[b] * hop + pad] for a, b in zip(first, last, strict=True)]


def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    # espeak-ng writes a streaming header (sizes 0x7ffff000), which libsndfile rejects;
    # the layout is fixed: a fmt chunk (PCM 16-bit mono) and a data chunk to the end.
    fmt = data.find(b"fmt ")
    sr = int.from_bytes(data[fmt + 12: fmt + 16], "little")
    start = data.find(b"data") + 8
    body = data[start: start + (len(data) - start) // 2 * 2]
    return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0, sr


def _trim(x: np.ndarray, sr: int) -> np.ndarray:
    hop = max(1, int(sr * _TRIM_FRAME_S))
    n = len(x) // hop
    if n == 0:
        return x[:0]
    frames = x[: n * hop].reshape(n, hop)
    level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    loud = np.nonzero(level >= level.max() - _TRIM_DB)[0]
    return x[loud[0] * hop: (loud[-1] + 1) * hop]


class Speaker:
    """espeak-ng with a thread-safe cache: each (voice, text) is spoken once and
    resampled (librosa, soxr) to whatever rates are asked for.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[Voice, str, int], np.ndarray] = {}
        self._lock = threading.Lock()
        self.spoken = 0  # espeak-ng runs (cache misses), for speed reports

    def __call__(self, text: str, voice: Voice, sample_rate: int) -> np.ndarray:
        """The trimmed clip of ``text`` in ``voice`` at ``sample_rate`` (float32, peak about 0.5-0.7)."""
        key = (voice, text, sample_rate)
        clip = self._cache.get(key)
        if clip is None:
            import librosa

            native = self._cache.get((voice, text, 0))
            if native is None:
                x, sr = espeak(text, voice)
                native = librosa.resample(x, orig_sr=sr, target_sr=_NATIVE_RATE, res_type="soxr_hq")
                with self._lock:
                    self._cache[(voice, text, 0)] = native
                    self.spoken += 1
            x = native if sample_rate == _NATIVE_RATE else librosa.resample(
                native, orig_sr=_NATIVE_RATE, target_sr=sample_rate, res_type="soxr_hq")
            clip = _trim(np.asarray(x, dtype=np.float32), sample_rate)
            clip.setflags(write=False)
            with self._lock:
                self._cache[key] = clip
        return clip

    def prefetch(self, pairs: list[tuple[str, Voice]], workers: int = 2) -> None:
        """Speak every (text, voice) not cached yet, one espeak-ng run per voice, voices in parallel."""
        from concurrent.futures import ThreadPoolExecutor

        todo: dict[Voice, list[str]] = {}
        for text, voice in pairs:
            if (voice, text, 0) not in self._cache and text not in todo.setdefault(voice, []):
                todo[voice].append(text)
        todo = {v: t for v, t in todo.items() if t}
        if not todo:
            return

        def run(voice: Voice) -> None:
            import librosa

            texts = todo[voice]
            clips = espeak_many(texts, voice) if len(texts) > 1 else None
            if clips is None:  # one by one: the batch split was ambiguous (or a single text)
                clips = [espeak(t, voice)[0] for t in texts]
            for text, x in zip(texts, clips, strict=True):
                native = librosa.resample(x, orig_sr=_ESPEAK_RATE, target_sr=_NATIVE_RATE, res_type="soxr_hq")
                with self._lock:
                    self._cache[(voice, text, 0)] = native
                    self.spoken += 1

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, todo))

    def duration(self, text: str, voice: Voice, sample_rate: int = 8000) -> float:
        """Seconds of speech in the trimmed clip."""
        return len(self(text, voice, sample_rate)) / sample_rate


def mix(clips: list[tuple[int, float, np.ndarray, float]], duration_s: float, sample_rate: int,
        channels: int = 2) -> np.ndarray:
    """Place clips on a silent ``(channels, samples)`` float32 buffer.

    ``clips`` holds ``(channel, start_s, samples, gain)``; a clip running past the end is cut.
    """
    n = int(round(duration_s * sample_rate))
    out = np.zeros((channels, n), dtype=np.float32)
    for channel, start_s, samples, gain in clips:
        a = int(round(start_s * sample_rate))
        b = min(n, a + len(samples))
        if b > a:
            out[channel, a:b] += gain * samples[: b - a]
    return out


_NOISE_BANK: dict[int, np.ndarray] = {}
_NOISE_LOCK = threading.Lock()


def _noise_bank(size: int = 1 << 20) -> np.ndarray:
    """2^20 samples of unit-variance noise tilted towards pink (room and line noise
    rather than hiss), made once; calls take random stretches of it, which is ~100x
    cheaper than shaping fresh noise for every call."""
    with _NOISE_LOCK:
        bank = _NOISE_BANK.get(size)
        if bank is None:
            spec = np.fft.rfft(np.random.default_rng(0).standard_normal(size))
            spec /= np.sqrt(1 + np.fft.rfftfreq(size) / 0.02)
            bank = np.fft.irfft(spec, size).astype(np.float32)
            bank /= bank.std()
            _NOISE_BANK[size] = bank
    return bank


def add_noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float, *, sample_rate: int,
              hum_hz: float | None = None, reference_rms: float | None = None) -> np.ndarray:
    """Add background noise at ``snr_db`` below each channel's speech level.

    The speech level of a channel is its RMS over samples louder than -50 dBFS (so
    silence between turns does not lower it), or ``reference_rms`` when given.
    ``hum_hz`` adds mains hum (50 or 60 Hz) at half the noise level.
    """
    out = audio.copy()
    n = audio.shape[1]
    bank = _noise_bank()
    t = np.arange(n, dtype=np.float32) / sample_rate if hum_hz else None
    for ch in range(audio.shape[0]):
        x = audio[ch]
        if reference_rms is not None:
            level = reference_rms
        else:
            loud = x[np.abs(x) > 10 ** (-50 / 20)]
            level = float(np.sqrt(np.mean(loud**2))) if loud.size else 0.05
        noise = np.roll(bank, -int(rng.integers(len(bank))))
        noise = np.tile(noise, -(-n // len(bank)))[:n].copy() if n > len(bank) else noise[:n].copy()
        if t is not None:
            noise += 0.5 * np.sin(2 * np.pi * hum_hz * t + rng.uniform(0, 6.28)).astype(np.float32)
        noise *= level * 10 ** (-snr_db / 20) / (float(noise.std()) + 1e-12)
        out[ch] += noise
    return out


def write_audio(path: str | Path, audio: np.ndarray, fmt: str) -> Path:
    """Write ``audio`` (``(channels, samples)`` float, at the format's rate) as ``fmt``
    (a key of :data:`AUDIO_FORMATS`); samples are clipped to [-1, 1]."""
    import soundfile as sf

    container, subtype, sr, _suffix = AUDIO_FORMATS[fmt]
    path = Path(path)
    data = np.clip(audio, -1.0, 1.0).T
    if subtype == "PCM_16":  # hand libsndfile integers: its float conversion is the slow part
        data = np.round(data * 32767).astype(np.int16)
    sf.write(path, np.ascontiguousarray(data, dtype=data.dtype if subtype == "PCM_16" else np.float32), sr,
             format=container, subtype=subtype)
    return path
