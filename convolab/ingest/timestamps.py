"""Reading timestamps from the shapes real exports use, and the range convolab accepts.

One definition, used by every format (canonical JSON lines on both its fast and
exact paths, OpenAI-style messages, CSV and Parquet). A value is read as:

1. **ISO-8601** (``2026-11-01T10:00:00Z``, ``2026-11-01 10:00:00+02:00``, a date,
   a named zone such as ``2026-11-01T10:00 America/New_York``). Without an offset
   it is UTC. This is the fast path: clean ISO data never reaches the steps below.
2. ``--time-format FMT`` when one is given (DuckDB ``strptime`` directives, e.g.
   ``%d/%m/%Y %H:%M``; without ``%z``/``%Z`` the value is UTC). ISO-8601 values are
   still read as ISO-8601.
3. **Epoch numbers** (JSON numbers or digit strings), told apart by magnitude:
   below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else
   nanoseconds. (1e11 seconds is the year 5138; 1e11 milliseconds is 1973, so an
   epoch in milliseconds before March 1973 would read as seconds and be refused
   as out of range rather than silently misread.)
4. **RFC 2822** (``Tue, 31 Oct 2017 21:45:10 +0000``, with or without the weekday
   or the seconds, a numeric offset or a zone abbreviation such as ``GMT``) and the
   **Twitter** format (``Tue Oct 31 21:45:10 +0000 2017``).

Everything is stored as naive UTC. A value that parses but lies outside
:data:`EARLIEST` .. :data:`LATEST` (years 1970 to 2199), or whose UTC offset is
outside -12:00 .. +14:00 (the offsets in real use), is rejected with the field
that held it: Python's ``datetime`` (and with it every reader of the store) cannot
represent years before 1 or after 9999, and nothing in a conversation log lies
before 1970 or centuries ahead.
"""

from __future__ import annotations

from datetime import datetime

from convolab.errors import InvalidArgument
from convolab.ingest._sql import literal

__all__ = ["AUTO_FORMATS", "EARLIEST", "LATEST", "RANGE_TEXT", "check_time_format", "macros"]

#: The earliest timestamp accepted (inclusive), UTC.
EARLIEST = datetime(1970, 1, 1)
#: The first timestamp no longer accepted (exclusive), UTC: the last accepted day is 2199-12-31.
LATEST = datetime(2200, 1, 1)
RANGE_TEXT = "1970-01-01 to 2199-12-31 UTC"
#: UTC offsets in real use, in minutes (Baker Island -12:00 to Kiribati +14:00).
OFFSET_MINUTES = (-12 * 60, 14 * 60)
OFFSET_TEXT = "-12:00..+14:00"

#: Non-ISO formats recognised without ``--time-format``: Twitter, then RFC 2822 variants.
AUTO_FORMATS = (
    "%a %b %d %H:%M:%S %z %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%d %b %Y %H:%M:%S %z",
    "%d %b %Y %H:%M:%S %Z",
    "%a, %d %b %Y %H:%M %z",
    "%a, %d %b %Y %H:%M %Z",
    "%d %b %Y %H:%M %z",
)
#: Of :data:`AUTO_FORMATS`, those with a numeric offset, and those with a zone name. They are
#: tried as two lists: DuckDB 1.5.5 carries the offset of a row read with ``%z`` over to a
#: later row read with ``%Z`` when both sit in one format list (``... GMT`` after
#: ``... -0500`` came out five hours late).
_OFFSET_FORMATS = tuple(f for f in AUTO_FORMATS if "%z" in f)
_ZONE_FORMATS = tuple(f for f in AUTO_FORMATS if "%Z" in f)


def check_time_format(store, time_format: str) -> None:  # noqa: ANN001 - a Workbench
    """Raise :class:`InvalidArgument` unless DuckDB's ``strptime`` understands ``time_format``."""
    from convolab.store import DatabaseError

    if not isinstance(time_format, str) or not time_format.strip() or "\x00" in time_format:
        raise InvalidArgument(f"time format must be a non-empty strptime format, got {time_format!r}")
    if "%" not in time_format:
        raise InvalidArgument(f"time format {time_format!r} has no % directive (e.g. '%d/%m/%Y %H:%M')")
    try:
        store.execute("SELECT try_strptime('', ?)", [time_format]).fetchall()
    except DatabaseError as exc:
        message = str(exc).splitlines()[0].split("Error: ", 1)[-1]
        raise InvalidArgument(f"bad time format {time_format!r}: {message}") from None


def macros(time_format: str | None = None) -> tuple[str, ...]:
    """The SQL macros that read timestamps (``cl_iso``, ``cl_parse_ts`` ...) for one load.

    ``time_format`` must have passed :func:`check_time_format`; it is the one value
    written into the macro text (as a quoted literal), since a macro cannot take
    a parameter.
    """
    lo, hi = OFFSET_MINUTES
    if time_format:
        user = f"try_strptime(trim(s), {literal(time_format)})"
        if "%z" in time_format or "%Z" in time_format:
            user = f"({user} AT TIME ZONE 'UTC')"
    else:
        user = "NULL::TIMESTAMP"
    offset_formats = "[" + ", ".join(literal(f) for f in _OFFSET_FORMATS) + "]"
    zone_formats = "[" + ", ".join(literal(f) for f in _ZONE_FORMATS) + "]"
    return (
        # = try_cast(v AS TIMESTAMPTZ) AT TIME ZONE 'UTC', four times faster; NULL for
        # +-infinity. A naive value is read in the session's zone, which ingest sets to UTC.
        "CREATE OR REPLACE TEMP MACRO cl_iso(v) AS make_timestamp(epoch_us(try_cast(v AS TIMESTAMPTZ)))",
        # The offset of an ISO value is its naive reading minus its UTC reading (no regex:
        # this runs on the fast path). A value ending in Z skips the second cast.
        f"""CREATE OR REPLACE TEMP MACRO cl_offset_ok(v) AS CASE WHEN ends_with(v, 'Z') THEN true
              ELSE coalesce(date_diff('minute', cl_iso(v), try_cast(v AS TIMESTAMP)) BETWEEN {lo} AND {hi}, true)
            END""",
        # NULL, or an ISO-8601 string (no JSON number reads as dddd-..., nor does +-infinity)
        # with a real-world offset: what the fast path may read without the exact path.
        "CREATE OR REPLACE TEMP MACRO cl_iso_ok(v) AS v IS NULL"
        " OR (v LIKE '____-%' AND cl_offset_ok(v) AND cl_iso(v) IS NOT NULL)",
        # Numeric offsets in the other formats (+0000 in Twitter and RFC 2822 times).
        f"""CREATE OR REPLACE TEMP MACRO cl_offset_text_ok(s) AS coalesce(
              (CASE WHEN regexp_extract(s, '\\s([+-])\\d\\d:?\\d\\d(\\s|$)', 1) = '-' THEN -1 ELSE 1 END)
              * (60 * try_cast(regexp_extract(s, '\\s[+-](\\d\\d):?\\d\\d(\\s|$)', 1) AS INTEGER)
                 + try_cast(regexp_extract(s, '\\s[+-]\\d\\d:?(\\d\\d)(\\s|$)', 1) AS INTEGER))
              BETWEEN {lo} AND {hi}, true)""",
        # Epoch numbers by magnitude (see the module docstring); NULL if absurd.
        """CREATE OR REPLACE TEMP MACRO cl_epoch(x) AS CASE
             WHEN x IS NULL OR isnan(x) OR isinf(x) THEN NULL
             WHEN abs(x) < 1e11 THEN make_timestamp(try_cast(x * 1e6 AS BIGINT))
             WHEN abs(x) < 1e14 THEN make_timestamp(try_cast(x * 1e3 AS BIGINT))
             WHEN abs(x) < 1e17 THEN make_timestamp(try_cast(x AS BIGINT))
             ELSE make_timestamp(try_cast(x / 1e3 AS BIGINT)) END""",
        f"CREATE OR REPLACE TEMP MACRO cl_user_ts(s) AS {user}",
        f"""CREATE OR REPLACE TEMP MACRO cl_auto_ts(s) AS CASE WHEN cl_offset_text_ok(s)
              THEN coalesce(try_strptime(trim(s), {offset_formats}) AT TIME ZONE 'UTC',
                            try_strptime(trim(s), {zone_formats}) AT TIME ZONE 'UTC') END""",
        # A string in any of the accepted shapes -> naive UTC, or NULL.
        """CREATE OR REPLACE TEMP MACRO cl_parse_ts(s) AS CASE
             WHEN s IS NULL THEN NULL
             WHEN regexp_matches(s, '^\\s*[+-]?\\d{4,}-')
                  THEN coalesce(CASE WHEN cl_offset_ok(trim(s)) THEN cl_iso(trim(s)) END, cl_user_ts(s))
             WHEN regexp_full_match(s, '\\s*[+-]?\\d+(\\.\\d*)?\\s*')
                  THEN coalesce(cl_user_ts(s), cl_epoch(try_cast(trim(s) AS DOUBLE)))
             ELSE coalesce(cl_user_ts(s), cl_auto_ts(s)) END""",
        # Why a string that looks like a time did not parse (appended to "bad timestamp ...").
        f"""CREATE OR REPLACE TEMP MACRO cl_ts_hint(s) AS CASE
             WHEN (cl_iso(trim(s)) IS NOT NULL AND NOT cl_offset_ok(trim(s))) OR NOT cl_offset_text_ok(s)
                  THEN ' (UTC offset outside {OFFSET_TEXT})' ELSE '' END""",
        # Inside the accepted range (NULL, unknown, passes: it is checked as missing elsewhere).
        f"""CREATE OR REPLACE TEMP MACRO cl_in_range(t) AS t IS NULL
              OR (t >= TIMESTAMP '{EARLIEST:%Y-%m-%d %H:%M:%S}' AND t < TIMESTAMP '{LATEST:%Y-%m-%d %H:%M:%S}')""",
        f"""CREATE OR REPLACE TEMP MACRO cl_range_err(t, name) AS CASE WHEN NOT cl_in_range(t)
              THEN 'timestamp out of range in ' || name || ': year ' || year(t) || ' (accepted: {RANGE_TEXT})' END""",
    )
