"""espeak-ng speech, mixing and the telephone formats."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from convolab.audio.synthesis import (
    AUDIO_FORMATS,
    Speaker,
    Voice,
    add_noise,
    espeak,
    espeak_many,
    mix,
    write_audio,
)

from .conftest import AGENT, CUSTOMER


def test_espeak_speaks_text_from_stdin_even_when_it_looks_like_an_option():
    x, sr = espeak("--help me please", CUSTOMER)
    assert sr == 22050 and len(x) / sr > 0.5 and np.abs(x).max() > 0.1


def test_clips_are_trimmed_to_speech_and_cached(speaker):
    clip = speaker("Let me look into that for you.", AGENT, 8000)
    frame = 40  # 5 ms
    head, tail = np.abs(clip[:frame]).max(), np.abs(clip[-frame:]).max()
    assert head > 1e-3 and tail > 1e-3  # speech starts and ends at the clip's edges
    spoken = speaker.spoken
    again = speaker("Let me look into that for you.", AGENT, 16000)
    assert speaker.spoken == spoken  # one espeak-ng run serves every rate
    assert abs(len(again) / 16000 - len(clip) / 8000) < 0.02


def test_distinct_voices_sound_different(speaker):
    a = speaker("Thank you so much.", CUSTOMER, 8000)
    b = speaker("Thank you so much.", AGENT, 8000)
    assert len(a) != len(b) or not np.allclose(a, b)


def test_one_espeak_run_speaks_many_texts_split_at_the_breaks():
    texts = ["Okay.", "I'm sorry about that. Let me see what I can do.", "The one ending in 42."]
    clips = espeak_many(texts, Voice("en-us+m3", 150))
    assert clips is not None and len(clips) == 3
    singles = [espeak(t, Voice("en-us+m3", 150))[0] for t in texts]
    for batch, single in zip(clips, singles, strict=True):
        # the same speech, give or take the silence around it
        assert abs(np.sum(np.abs(batch) > 1e-3) - np.sum(np.abs(single) > 1e-3)) < 0.15 * 22050


def test_prefetch_fills_the_cache_with_few_espeak_runs():
    s = Speaker()
    pairs = [("Okay.", CUSTOMER), ("Fine, go ahead.", CUSTOMER), ("Okay.", CUSTOMER), ("I can help.", AGENT)]
    s.prefetch(pairs)
    assert s.spoken == 3
    s("Okay.", CUSTOMER, 8000)
    assert s.spoken == 3


def test_mix_places_clips_on_their_channels_and_cuts_at_the_end():
    clip = np.ones(800, dtype=np.float32)
    out = mix([(0, 0.5, clip, 0.5), (1, 0.95, clip, 1.0)], 1.0, 8000)
    assert out.shape == (2, 8000)
    assert out[0, 4000] == 0.5 and out[0, 3999] == 0 and out[0, 4800] == 0
    assert out[1, 7600:].min() == 1.0 and out[1, :7600].max() == 0


def test_noise_sits_at_the_asked_snr():
    x = np.zeros((1, 80_000), dtype=np.float32)
    x[0, 10_000:50_000] = 0.1 * np.sin(np.arange(40_000) * 0.3)
    noisy = add_noise(x, np.random.default_rng(0), 20.0, sample_rate=8000)
    noise = noisy[0, 60_000:]
    speech_rms = 0.1 / np.sqrt(2)
    assert 20 * np.log10(speech_rms / noise.std()) == pytest.approx(20.0, abs=1.0)


@pytest.mark.parametrize("fmt", list(AUDIO_FORMATS))
def test_telephone_formats_are_written_as_named(tmp_path, fmt):
    container, subtype, sr, suffix = AUDIO_FORMATS[fmt]
    x = np.zeros((2, sr), dtype=np.float32)
    x[0, 100:900] = 0.3
    path = write_audio(tmp_path / f"a{suffix}", x, fmt)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate, info.channels) == (container, subtype, sr, 2)
    assert info.duration == pytest.approx(1.0, abs=0.01)
