"""Numbers for people."""

from __future__ import annotations

import pytest

from convolab.reports.formatting import (
    fmt_change,
    fmt_count,
    fmt_duration,
    fmt_ms,
    fmt_previous,
    fmt_rate,
    fmt_value,
    trend_class,
)


@pytest.mark.parametrize(("value", "text"), [(1234, "1,234"), (1234567.0, "1,234,567"), (0, "0"), (None, "–")])
def test_counts(value, text) -> None:
    assert fmt_count(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.125, "12.5%"), (0.0004, "0.0%"), (1, "100.0%"),
                                             (None, "–"), (float("nan"), "–")])
def test_rates(value, text) -> None:
    assert fmt_rate(value) == text


@pytest.mark.parametrize(("value", "text"), [(185, "3m 05s"), (45.4, "45s"), (59.6, "1m 00s"), (3725, "1h 02m"),
                                             (0, "0s"), (None, "–")])
def test_durations(value, text) -> None:
    assert fmt_duration(value) == text


def test_milliseconds_and_units() -> None:
    assert fmt_ms(850.4) == "850 ms" and fmt_ms(1250) == "1.25 s"
    assert fmt_value("rate", 0.5) == "50.0%" and fmt_value("seconds", 61) == "1m 01s"
    assert fmt_value("count", 12) == "12" and fmt_value("number", 1.26) == "1.3"


def test_changes_against_the_previous_period() -> None:
    assert fmt_change("rate", 0.012) == "+1.2 pp"
    assert fmt_change("rate", -0.004) == "−0.4 pp"
    assert fmt_change("rate", 0.00004) == "±0.0 pp"
    assert fmt_change("count", 0.125) == "+12.5%"
    assert fmt_change("seconds", -65) == "−1m 05s"
    assert fmt_change("milliseconds", 40) == "+40 ms"
    assert fmt_change("rate", None) == ""
    assert fmt_previous("rate", 0.73, -0.006) == "73.0% previous · −0.6 pp"
    assert fmt_previous("rate", None, None) == ""


def test_colour_of_a_change() -> None:
    assert trend_class(0.02, "lower") == "bad" and trend_class(-0.02, "lower") == "good"
    assert trend_class(0.02, "higher") == "good" and trend_class(0.02, "") == "flat"
    assert trend_class(0.00001, "lower") == "flat"  # shows as ±0.0 pp
