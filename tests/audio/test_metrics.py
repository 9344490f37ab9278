"""The metric definitions, on hand-made segments (no audio): one definition for truth and analysis."""

from __future__ import annotations

import numpy as np
import pytest

from convolab.audio.metrics import (
    MetricOptions,
    agent_responses,
    dead_air,
    interruptions,
    level_dbfs,
    mono_metrics,
    speech_rate_wpm,
    talk_seconds,
    timing_metrics,
    union,
)


def test_union_merges_overlapping_and_touching_segments_in_any_order():
    u = union([(5, 6), (0, 1), (0.5, 2), (2, 3), (7, 8)])
    assert u.tolist() == [[0, 3], [5, 6], [7, 8]]
    assert union([]).shape == (0, 2)
    assert talk_seconds([(0, 1), (0.5, 2)]) == 2.0


def test_dead_air_counts_silence_of_both_sides_including_the_edges():
    customer = [(6.0, 8.0)]
    agent = [(1.0, 3.0), (8.5, 10.0), (20.0, 21.0)]
    gaps = dead_air([customer, agent], duration_s=27.0, threshold_s=5.0)
    # 3-6 is 3 s (not dead air); 10-20 is; 21-27 at the end is
    assert gaps.tolist() == [[10.0, 20.0], [21.0, 27.0]]
    assert dead_air([[], []], 4.0, 5.0).shape == (0, 2)  # a short silent file: 4 s < 5 s
    assert dead_air([[], []], 6.0, 5.0).tolist() == [[0.0, 6.0]]
    assert dead_air([[(0, 1)], [(6, 7)]], 7.0, 5.0).tolist() == [[1.0, 6.0]]  # exactly the threshold counts


def test_agent_latency_is_measured_from_the_end_of_the_customer_turn():
    customer = [(0.0, 2.0), (2.3, 3.0), (10.0, 12.0), (20.0, 22.0)]  # the first turn has a pause inside
    agent = [(3.8, 6.0), (6.5, 8.0), (11.9, 14.0), (21.0, 25.0)]
    r = agent_responses(customer, agent, min_overlap_s=0.3)
    # 3.0 -> 3.8 (800 ms); 6.5 continues the agent's own turn; 12.0 -> 11.9 is -100 ms (a near miss);
    # the agent at 21.0 talks over the customer for 1 s: an interruption, not a latency
    assert np.round(r, 3).tolist() == [[3.0, 3.8, 0.8], [12.0, 11.9, -0.1]]


def test_interruptions_are_counted_for_the_side_that_starts_and_need_the_overlap():
    customer = [(0.0, 3.0), (5.0, 5.2), (10.0, 14.0)]
    agent = [(2.5, 6.0), (13.8, 16.0)]
    by_agent = interruptions(agent, customer, 0.3)
    by_customer = interruptions(customer, agent, 0.3)
    assert by_agent.tolist() == [[2.5, 0.5]]  # 13.8 overlaps the customer by 0.2 s only
    assert by_customer.tolist() == []  # 5.0-5.2 inside the agent's turn overlaps 0.2 s only
    longer = interruptions(customer, agent, 0.15)
    assert np.round(longer, 3).tolist() == [[5.0, 0.2]]


def test_timing_metrics_document():
    customer = [(1.0, 3.0), (4.0, 6.0), (12.5, 14.0)]
    agent = [(3.5, 4.5), (5.5, 7.0), (14.6, 16.0)]
    m = timing_metrics(customer, agent, 17.0, MetricOptions(dead_air_s=5.0, min_overlap_s=0.3))
    assert m["talk_s"] == {"customer": 5.5, "agent": 3.9}
    assert m["talk_ratio"] == round(3.9 / 9.4, 4)
    assert m["talk_share"] == {"customer": round(5.5 / 9.4, 4), "agent": round(3.9 / 9.4, 4)}
    assert m["dead_air"] == {"count": 1, "total_s": 5.5, "longest_s": 5.5}
    # agent 3.5 starts 500 ms after the customer's 3.0 end; the customer barges in at 4.0 (0.5 s
    # overlap); the agent at 5.5 talks over the customer (0.5 s); 14.0 -> 14.6 is 600 ms
    assert m["interruptions"] == {"agent": 1, "customer": 1}
    assert m["agent_latency_ms"] == {"p50": 550, "p95": 595, "max": 600, "n": 2}
    assert m["overtalk_s"] == 1.0
    assert [e["by"] for e in m["events"]["interruptions"]] == ["customer", "agent"]


def test_no_speech_and_one_sided_calls():
    m = timing_metrics([], [], 3.0)
    assert m["talk_ratio"] is None and m["agent_latency_ms"]["n"] == 0 and m["agent_latency_ms"]["p50"] is None
    m = timing_metrics([], [(0.5, 2.0)], 3.0)
    assert m["talk_ratio"] == 1.0 and m["interruptions"] == {"agent": 0, "customer": 0}


def test_mono_metrics_have_only_dead_air():
    m = mono_metrics([(0, 1), (7, 8)], 9.0)
    assert m["dead_air"]["count"] == 1 and m["talk_s"] is None and m["agent_latency_ms"] is None


def test_levels_in_dbfs():
    sr = 8000
    t = np.arange(sr) / sr
    x = np.zeros(2 * sr, dtype=np.float32)
    x[:sr] = 0.5 * np.sin(2 * np.pi * 440 * t)  # a 0.5-amplitude sine: RMS -9.03 dBFS, peak -6.02
    lv = level_dbfs(x, sr, [(0.0, 1.0)])
    assert lv["mean"] == pytest.approx(-9.0, abs=0.1) and lv["peak"] == pytest.approx(-6.0, abs=0.1)
    assert level_dbfs(x, sr)["mean"] == pytest.approx(-12.0, abs=0.1)  # whole signal: half of it silent
    assert level_dbfs(np.zeros(10, np.float32), sr, []) == {"mean": None, "peak": None}


def test_speech_rate_counts_transcript_words_over_talk_time():
    messages = [{"role": "customer", "text": "one two three"}, {"role": "agent", "text": "four five"},
                {"role": "human_agent", "text": "six"}, {"role": "system", "text": "ignored words"}]
    assert speech_rate_wpm(messages, {"customer": 1.5, "agent": 1.5}) == {"customer": 120.0, "agent": 120.0}
    assert speech_rate_wpm(messages, {"customer": None, "agent": 0.0}) == {"customer": None, "agent": None}
