"""Numbers for people: 1,234; 12.5%; 3m 05s; and changes against the previous period.

Every function returns plain text (not escaped) and ``–`` for a figure that cannot be
computed (no conversations, nothing scored).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MISSING", "fmt_change", "fmt_count", "fmt_duration", "fmt_ms", "fmt_number", "fmt_previous",
           "fmt_rate", "fmt_value", "trend_class"]

MISSING = "–"
_MINUS = "−"  # a real minus sign: "−1.2 pp" does not read as a hyphen


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_count(value: Any) -> str:
    """``1,234``."""
    return MISSING if _missing(value) else f"{round(float(value)):,}"


def fmt_rate(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage with ``digits`` decimals: ``0.125`` -> ``12.5%``."""
    return MISSING if _missing(value) else f"{float(value) * 100:.{digits}f}%"


def fmt_duration(seconds: Any) -> str:
    """``45s``, ``3m 05s``, ``1h 02m`` (rounded to the second)."""
    if _missing(seconds):
        return MISSING
    s = round(abs(float(seconds)))
    sign = _MINUS if float(seconds) < 0 and s else ""
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{sign}{h}h {m:02d}m"
    if m:
        return f"{sign}{m}m {s:02d}s"
    return f"{sign}{s}s"


def fmt_ms(ms: Any) -> str:
    """``850 ms`` below a second, ``1.25 s`` above."""
    if _missing(ms):
        return MISSING
    v = float(ms)
    return f"{v / 1000:.2f} s" if abs(v) >= 1000 else f"{v:,.0f} ms"


def fmt_number(value: Any) -> str:
    """A plain number with one decimal: ``1.4``."""
    return MISSING if _missing(value) else f"{float(value):,.1f}"


def fmt_value(unit: str, value: Any) -> str:
    """A figure in its unit (``count``, ``rate``, ``seconds``, ``milliseconds``, ``number``)."""
    return {
        "count": fmt_count, "rate": fmt_rate, "seconds": fmt_duration, "milliseconds": fmt_ms,
        "number": fmt_number,
    }.get(unit, fmt_number)(value)


def fmt_change(unit: str, change: Any) -> str:
    """A change against the previous period: ``+1.2 pp`` (rates), ``+12.5%`` (counts), ``+12s`` (times)."""
    if _missing(change):
        return ""
    v = float(change)
    if unit == "rate":
        text = f"{abs(v) * 100:.1f} pp"
    elif unit in ("count", "number"):
        text = f"{abs(v) * 100:.1f}%"
    elif unit == "seconds":
        text = fmt_duration(abs(v))
    elif unit == "milliseconds":
        text = fmt_ms(abs(v))
    else:
        text = f"{abs(v):,.1f}"
    if not any(ch in "123456789" for ch in text):  # rounds to nothing at the shown precision
        return "±" + text
    return (_MINUS if v < 0 else "+") + text


def trend_class(change: Any, better: str, unit: str = "rate") -> str:
    """``good``, ``bad`` or ``flat``: how to colour a change given which direction is better.

    A change that rounds to nothing at the shown precision (``±0.0 pp``) is flat.
    """
    if _missing(change) or not better or fmt_change(unit, change).startswith("±"):
        return "flat"
    up = float(change) > 0
    return "good" if up == (better == "higher") else "bad"


def fmt_previous(unit: str, previous: Any, change: Any) -> str:
    """``2,518 previous · −7.1%`` beside a figure; empty when there is no previous period."""
    if previous is None:
        return ""
    delta = fmt_change(unit, change)
    return f"{fmt_value(unit, previous)} previous" + (f" · {delta}" if delta else "")
