"""The period a report covers, the period before it, and the size of its time buckets.

A period is a range of whole days (UTC, as stored), both ends included: a conversation
belongs to it when it *started* on one of those days. The previous period has the same
number of days and ends the day before the period starts. It exists only when the
period has a chosen start: a report over "everything in the store" has nothing before it
to compare with, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from convolab.errors import ConvolabError

__all__ = ["GRANULARITIES", "InvalidReportRequest", "Period", "choose_granularity", "parse_day"]

#: Bucket sizes for charts over time, smallest first. ``auto`` picks the smallest that keeps
#: a chart at :data:`MAX_BUCKETS` points or fewer.
GRANULARITIES = ("day", "week", "month", "quarter", "year")
MAX_BUCKETS = 120
_DAYS_PER = {"day": 1, "week": 7, "month": 30.4, "quarter": 91.3, "year": 365.25}


class InvalidReportRequest(ValueError, ConvolabError):
    """A report was asked for with a bad period, granularity or filter."""


@dataclass(frozen=True)
class Period:
    """The days a report covers, and the previous period of the same length.

    Attributes
    ----------
    start, end
        First and last day included (``None`` only for an empty store).
    chosen_start, chosen_end
        Whether the caller chose that end; otherwise it is the store's first or last day.
    previous_start, previous_end
        The previous period (same length, immediately before), or ``None`` when the
        start was not chosen.
    granularity
        ``day``, ``week``, ``month``, ``quarter`` or ``year``: the bucket of charts over time.
    """

    start: date | None
    end: date | None
    chosen_start: bool
    chosen_end: bool
    previous_start: date | None
    previous_end: date | None
    granularity: str

    @classmethod
    def resolve(
        cls,
        since: date | None,
        until: date | None,
        *,
        first_day: date | None,
        last_day: date | None,
        granularity: str = "auto",
    ) -> Period:
        """The period for the requested days; open ends fall back to the store's first/last day.

        Parameters
        ----------
        since, until
            The requested first and last day (either may be ``None``).
        first_day, last_day
            The days of the store's first and last conversation (``None`` when it is empty).
        granularity
            ``auto`` or one of :data:`GRANULARITIES`.
        """
        if granularity != "auto" and granularity not in GRANULARITIES:
            raise InvalidReportRequest(
                f"time buckets (--by) must be auto or one of {', '.join(GRANULARITIES)}, got {granularity!r}"
            )
        if since is not None and until is not None and since > until:
            raise InvalidReportRequest(f"the period starts ({since}) after it ends ({until})")
        start = since if since is not None else first_day
        end = until if until is not None else last_day
        if start is not None and end is not None and start > end:
            # e.g. --from after the newest conversation: an empty period of one day
            end = start
        if start is None and end is not None:
            start = end
        if end is None and start is not None:
            end = start
        previous_start = previous_end = None
        if since is not None and start is not None and end is not None:
            length = (end - start).days + 1
            previous_end = start - timedelta(days=1)
            previous_start = start - timedelta(days=length)
        if granularity == "auto":
            granularity = choose_granularity(start, end)
        return cls(start, end, since is not None, until is not None, previous_start, previous_end,
                   granularity)

    @property
    def days(self) -> int:
        """Number of days in the period (0 for an empty store)."""
        if self.start is None or self.end is None:
            return 0
        return (self.end - self.start).days + 1

    @property
    def has_previous(self) -> bool:
        """Whether a previous period is compared with."""
        return self.previous_start is not None

    @property
    def everything(self) -> bool:
        """Whether the period is simply everything in the store (no end chosen)."""
        return not self.chosen_start and not self.chosen_end

    def label(self) -> str:
        """``2026-10-01 – 2026-10-31 (31 days)``, or a note for an empty store."""
        if self.start is None or self.end is None:
            return "no conversations in the store"
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d} ({self.days:,} day{'s' if self.days != 1 else ''})"

    def previous_label(self) -> str:
        """The previous period, or why there is none."""
        if self.previous_start is None or self.previous_end is None:
            return ("not compared: the period starts with the store's first conversation, so there is "
                    "no earlier period of the same length to compare with")
        return f"{self.previous_start:%Y-%m-%d} – {self.previous_end:%Y-%m-%d}"


def choose_granularity(start: date | None, end: date | None) -> str:
    """The smallest bucket that keeps a chart over ``start``..``end`` at most MAX_BUCKETS points."""
    if start is None or end is None:
        return "day"
    days = (end - start).days + 1
    for name in GRANULARITIES:
        if days / _DAYS_PER[name] <= MAX_BUCKETS:
            return name
    return "year"


def parse_day(value: str | date | datetime | None, *, what: str = "date") -> date | None:
    """A day from ``YYYY-MM-DD`` text (or a date/datetime); ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidReportRequest(f"{what} must be a day as YYYY-MM-DD, got {value!r}") from None
