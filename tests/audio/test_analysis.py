"""analyse_file on real espeak-ng calls: the document's shape and the issue's quality bars,
across formats, noise, gains, voices and speaking rates."""

from __future__ import annotations

import json

import pytest

from convolab.audio import AudioOptions, analyse_file
from convolab.audio.evaluation import compare
from convolab.audio.synthesis import Voice

from .conftest import render

REQUIRED = {"duration_s", "channels", "talk_s", "talk_ratio", "dead_air", "agent_latency_ms", "interruptions",
            "overtalk_s", "loudness_dbfs", "segments"}


def assert_quality(doc, truth):
    """The issue's bars: dead air P/R >= 0.95, each latency within 150 ms, interruptions by
    each side P/R >= 0.9, talk ratio within 0.05 (on one call these mean: all exact)."""
    c = compare(doc, truth)
    assert c["dead_air"]["matched"] == c["dead_air"]["true"] == c["dead_air"]["found"], c["dead_air"]
    for side in ("agent", "customer"):
        k = f"interruptions_{side}"
        assert c[k]["matched"] == c[k]["true"] == c[k]["found"], (k, c[k], doc["events"]["interruptions"])
    lat = c["latency"]
    assert lat["matched"] == lat["true"] == lat["found"], (lat, doc["events"]["agent_replies"])
    assert all(abs(e) <= 150 for e in lat["errors_ms"]), lat["errors_ms"]
    assert c["talk_ratio_error"] <= 0.05


def test_document_has_the_issue_keys_and_finds_the_planted_events(clean_call):
    doc = analyse_file(clean_call.path)
    assert REQUIRED <= set(doc)
    assert doc["channels"] == 2 and doc["mono"] is False and doc["sample_rate"] == 8000
    assert set(doc["talk_s"]) == {"customer", "agent"} and set(doc["interruptions"]) == {"agent", "customer"}
    assert set(doc["dead_air"]) >= {"count", "total_s", "longest_s"}
    assert set(doc["agent_latency_ms"]) == {"p50", "p95", "max", "n"}
    assert {"mean", "peak"} <= set(doc["loudness_dbfs"])
    assert all(set(s) == {"channel", "start_s", "end_s"} and s["channel"] in ("customer", "agent")
               for s in doc["segments"])
    json.dumps(doc, allow_nan=False)  # one plain JSON document
    # the script plants one of each
    assert doc["dead_air"]["count"] == 1 and 6.2 <= doc["dead_air"]["longest_s"] <= 6.8
    assert doc["interruptions"] == {"agent": 1, "customer": 1}
    assert 3450 <= doc["agent_latency_ms"]["max"] <= 3750
    assert doc["loudness_dbfs"]["peak"] < 0 and doc["clipping"]["ratio"] == 0
    assert_quality(doc, clean_call.truth)


VARIANTS = {
    # telephone formats
    "mulaw": dict(fmt="ulaw8k"),
    "mp3": dict(fmt="mp3"),
    "wav16k-noise25": dict(fmt="wav16k", snr_db=25.0),
    # background noise, quiet and loud lines
    "noise20": dict(snr_db=20.0, seed=3),
    "quiet-agent": dict(gains_db=(-2.0, -24.0)),
    "mp3-noise22-quiet-customer": dict(fmt="mp3", snr_db=22.0, gains_db=(-18.0, -4.0), seed=5),
    # voices and speaking rates the sample generator never uses
    "other-voices-slow": dict(customer=Voice("en-us+m7", 130, 35), agent=Voice("en+klatt2", 140, 70)),
    "other-voices-fast-mulaw-noise": dict(fmt="ulaw8k", snr_db=24.0, customer=Voice("en-gb-x-gbclan+f1", 200, 50),
                                          agent=Voice("en-us-nyc+m2", 205, 45), seed=7),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_quality_bars_hold_across_formats_noise_gains_and_voices(speaker, calls_dir, variant):
    call = render(speaker, calls_dir, variant, **VARIANTS[variant])
    doc = analyse_file(call.path)
    assert_quality(doc, call.truth)


def test_thresholds_are_options(clean_call):
    strict = analyse_file(clean_call.path, options=AudioOptions(dead_air_s=7.0, min_overlap_s=0.9))
    assert strict["dead_air"]["count"] == 0  # the 6.5 s silence is below 7 s
    assert strict["interruptions"] == {"agent": 0, "customer": 0}  # both overlaps are under 0.9 s
    assert strict["analysis"]["dead_air_s"] == 7.0


def test_customer_on_the_right_swaps_sides(clean_call):
    normal = analyse_file(clean_call.path)
    swapped = analyse_file(clean_call.path, options=AudioOptions(customer_channel=1))
    assert swapped["talk_s"] == {"customer": normal["talk_s"]["agent"], "agent": normal["talk_s"]["customer"]}


def test_speech_rate_from_the_transcript(clean_call):
    from .conftest import SCRIPT

    messages = [{"role": "customer" if ch == 0 else "agent", "text": text} for ch, text, _ in SCRIPT]
    doc = analyse_file(clean_call.path, transcript={"messages": messages})
    rate = doc["speech_rate_wpm"]
    # espeak-ng speaks these voices at 160-165 wpm; pauses and short turns make it lower
    assert 100 <= rate["customer"] <= 220 and 100 <= rate["agent"] <= 220
    assert analyse_file(clean_call.path)["speech_rate_wpm"] is None


def test_mono_gives_dead_air_and_loudness_only_and_says_so(speaker, calls_dir):
    call = render(speaker, calls_dir, "mono", mono=True)
    doc = analyse_file(call.path)
    assert doc["channels"] == 1 and doc["mono"] is True and "mono" in doc["note"]
    assert doc["talk_s"] is None and doc["talk_ratio"] is None and doc["agent_latency_ms"] is None
    assert doc["interruptions"] is None and doc["overtalk_s"] is None
    assert doc["dead_air"]["count"] == 1 and doc["loudness_dbfs"]["mean"] is not None
    assert {s["channel"] for s in doc["segments"]} == {"mixed"}


def test_clipping_is_measured(speaker, calls_dir):
    call = render(speaker, calls_dir, "hot", gains_db=(14.0, 0.0))  # the customer is driven into clipping
    doc = analyse_file(call.path)
    assert doc["clipping"]["ratio"] > 0.001 and doc["loudness_dbfs"]["peak"] >= -0.1
    assert doc["channel_loudness_dbfs"]["customer"]["mean"] > doc["channel_loudness_dbfs"]["agent"]["mean"]

