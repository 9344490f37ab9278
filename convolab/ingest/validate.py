"""The checks every record passes, whatever its format: ids, limits, timestamps, nesting.

Each format module turns its records into the staging contract (typed values,
see :mod:`convolab.ingest.staging`) and reports what is wrong with the record's
*shape* (a missing id, a number where a string belongs, a date it cannot read).
What is wrong with the *values* is decided here, once, on those typed values, so
that canonical JSON lines (both paths), OpenAI-style messages and CSV/Parquet
refuse exactly the same things with exactly the same words:

* an **id** is 1 to :data:`MAX_ID_CHARS` characters of any script, emoji included,
  but no control character (U+0000-U+001F, U+007F-U+009F), no line or paragraph
  separator (U+2028, U+2029) and no bidirectional override (U+202A-U+202E,
  U+2066-U+2069), which would make it impossible to type, or display it as
  another id;
* :class:`Limits`: message size, messages per conversation, record size and the
  nesting depth of JSON values convolab keeps as JSON (function arguments and
  outputs, unknown top-level fields). Tags and parameters are stored as text;
* timestamps inside :data:`~convolab.ingest.timestamps.EARLIEST` ..
  :data:`~convolab.ingest.timestamps.LATEST`.

Each check is cheap on clean data: sizes are byte lengths DuckDB keeps, the range
check reads the per-record minimum and maximum time staging computes anyway, and
nesting is only measured exactly for a value with more brackets than the limit
(:func:`find_deep_values`; a value of ``n`` bytes cannot nest deeper than ``n/2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

from convolab import settings
from convolab.errors import InvalidArgument

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["MAX_ID_CHARS", "Limits", "coerce_limits", "find_deep_values", "json_depth", "macros"]

#: The longest conversation id accepted, in characters.
MAX_ID_CHARS = 256
# What an id may not contain (RE2 syntax): C0 and C1 controls, DEL, U+2028/9, bidi controls.
_ID_FORBIDDEN = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}\x{202A}-\x{202E}\x{2066}-\x{2069}]"


@dataclass(frozen=True)
class Limits:
    """What one record may hold; more is a rejection with file, line and reason.

    Defaults come from the environment (``CONVOLAB_MAX_MESSAGE_BYTES``,
    ``CONVOLAB_MAX_MESSAGES``, ``CONVOLAB_MAX_RECORD_BYTES``, ``CONVOLAB_MAX_DEPTH``),
    else 1 MiB, 10,000, 32 MiB and 64.

    Attributes
    ----------
    max_message_bytes
        Largest message text, in UTF-8 bytes.
    max_messages
        Most messages in one conversation.
    max_record_bytes
        Largest source record: a JSON line, or in CSV/Parquet the text of one
        conversation's rows.
    max_depth
        Deepest nesting of a JSON value kept as JSON (function arguments and
        outputs, unknown top-level fields); ``{"a": [1]}`` nests 2 levels.
    """

    max_message_bytes: int = settings.DEFAULT_MAX_MESSAGE_BYTES
    max_messages: int = settings.DEFAULT_MAX_MESSAGES
    max_record_bytes: int = settings.DEFAULT_MAX_RECORD_BYTES
    max_depth: int = settings.DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"limit {f.name} must be a positive whole number, got {value!r}")

    @classmethod
    def from_settings(cls) -> Limits:
        """The limits the environment sets (the defaults where it sets none)."""
        env = settings.current()
        return cls(env.max_message_bytes, env.max_messages, env.max_record_bytes, env.max_depth)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def coerce_limits(limits: Limits | Mapping[str, int] | None) -> Limits:
    """``ingest(limits=...)``: a :class:`Limits`, a mapping of some of its fields, or ``None``."""
    if limits is None:
        return Limits.from_settings()
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, Mapping):
        known = {f.name for f in fields(Limits)}
        unknown = sorted(set(limits) - known)
        if unknown:
            raise InvalidArgument(f"unknown limit(s) {unknown}; known: {', '.join(sorted(known))}")
        return replace(Limits.from_settings(), **dict(limits))
    raise InvalidArgument(f"limits must be a convolab.ingest.Limits or a dict, got {type(limits).__name__}")


def macros(limits: Limits) -> tuple[str, ...]:
    """SQL macros for the checks of one load (the limits are whole numbers, checked above)."""
    lim = {k: int(v) for k, v in limits.to_dict().items()}
    return (
        f"""CREATE OR REPLACE TEMP MACRO cl_id_err(i) AS CASE
              WHEN i IS NULL THEN NULL
              WHEN length(i) > {MAX_ID_CHARS}
                   THEN 'id is ' || format('{{:,}}', length(i)) || ' characters long; the limit is {MAX_ID_CHARS}'
              WHEN regexp_matches(i, '{_ID_FORBIDDEN}')
                   THEN 'id contains a control character ('
                        || printf('U+%04X', unicode(regexp_extract(i, '{_ID_FORBIDDEN}'))) || ')'
            END""",
        f"""CREATE OR REPLACE TEMP MACRO cl_record_err(n) AS CASE WHEN n > {lim['max_record_bytes']}
              THEN 'record is ' || format('{{:,}}', n::BIGINT) || ' bytes; the limit is {lim['max_record_bytes']:,}'
                   || ' (CONVOLAB_MAX_RECORD_BYTES)' END""",
        f"CREATE OR REPLACE TEMP MACRO cl_record_ok(n) AS n <= {lim['max_record_bytes']}",
        # An upper bound on a JSON text's nesting: 0 when it is too short to nest deeper
        # than the limit, else its number of opening brackets (strings included).
        f"""CREATE OR REPLACE TEMP MACRO cl_depth_bound(s) AS CASE
              WHEN s IS NULL OR strlen(s) <= {2 * lim['max_depth']} THEN 0
              ELSE strlen(s) - strlen(replace(replace(s, '[', ''), '{{', '')) END""",
        f"""CREATE OR REPLACE TEMP MACRO cl_value_err(id, started_at, ended_at, messages, functions,
                                                     message_count, max_text_bytes, first_at, last_at) AS
            coalesce(
              cl_id_err(id),
              CASE WHEN message_count > {lim['max_messages']}
                   THEN 'conversation has ' || format('{{:,}}', message_count) || ' messages; the limit is '
                        || '{lim['max_messages']:,} (CONVOLAB_MAX_MESSAGES)' END,
              CASE WHEN max_text_bytes > {lim['max_message_bytes']}
                   THEN 'message ' || (list_position(list_transform(messages,
                            lambda m: coalesce(strlen(m.text) > {lim['max_message_bytes']}, false)), true) - 1)
                        || ' is ' || format('{{:,}}', max_text_bytes) || ' bytes; the limit is '
                        || '{lim['max_message_bytes']:,} (CONVOLAB_MAX_MESSAGE_BYTES)' END,
              cl_range_err(started_at, 'started_at'),
              cl_range_err(ended_at, 'ended_at'),
              CASE WHEN NOT (cl_in_range(first_at) AND cl_in_range(last_at)) THEN cl_range_err(
                   list_filter(list_transform(messages, lambda m: m.sent_at), lambda t: NOT cl_in_range(t))[1],
                   'message ' || (list_position(list_transform(messages,
                                      lambda m: NOT cl_in_range(m.sent_at)), true) - 1) || ' at') END,
              CASE WHEN list_bool_or(list_transform(functions, lambda f: NOT cl_in_range(f.called_at))) THEN cl_range_err(
                   list_filter(list_transform(functions, lambda f: f.called_at), lambda t: NOT cl_in_range(t))[1],
                   'function ' || (list_position(list_transform(functions,
                                       lambda f: NOT cl_in_range(f.called_at)), true) - 1) || ' at') END
            )""",
    )


def json_depth(text: str | None) -> int:
    """How deeply a JSON text nests objects and arrays (``1`` for ``[]``, ``0`` for a scalar).

    Iterative, so a value nested 100,000 levels is measured, not a RecursionError.
    Brackets inside strings do not count.
    """
    if not text:
        return 0
    import numpy as np  # only records with very nested values get here

    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    # Mask out string contents: a quote not escaped by an odd run of backslashes toggles.
    quote = data == ord('"')
    if quote.any():
        # A quote preceded by an odd run of backslashes is escaped; the others toggle.
        positions = np.flatnonzero(quote)
        index = np.arange(len(data))
        last_plain = np.maximum.accumulate(np.where(data != ord("\\"), index, -1))
        before = np.maximum(positions - 1, 0)
        run = np.where(positions > 0, before - last_plain[before], 0)
        real = positions[run % 2 == 0]
        toggles = np.zeros(len(data), dtype=np.int8)
        toggles[real] = 1
        inside = (np.cumsum(toggles) % 2).astype(bool)
        inside[real] = True  # closing quotes too
    else:
        inside = np.zeros(len(data), dtype=bool)
    opening = ((data == ord("[")) | (data == ord("{"))) & ~inside
    closing = ((data == ord("]")) | (data == ord("}"))) & ~inside
    steps = opening.astype(np.int64) - closing.astype(np.int64)
    if not opening.any():
        return 0
    return int(np.cumsum(steps).max())


def find_deep_values(store: Workbench, staged: str, limits: Limits) -> bool:
    """Fill ``stg_deep(line, reason)`` with the records of ``staged`` nesting deeper than the limit.

    Only records whose :func:`cl_depth_bound` exceeds the limit are measured (in
    Python, iteratively). Returns whether any record was too deep.
    """
    limit = limits.max_depth
    rows = store.execute(
        f"""
        SELECT line, list_transform(functions, lambda f: [f.arguments::VARCHAR, f.output::VARCHAR]),
               extra::VARCHAR
        FROM {staged} WHERE error IS NULL AND json_bound > ?
        """,  # noqa: S608 - a staging table's name
        [limit],
    ).fetchall()
    found: list[tuple[int, str]] = []
    for line, calls, extra in rows:
        reason = None
        for k, (arguments, output) in enumerate(calls or []):
            for what, text in (("arguments", arguments), ("output", output)):
                depth = json_depth(text)
                if depth > limit:
                    reason = _deep_reason(f"function {k} {what}", depth, limit)
                    break
            if reason:
                break
        # extra is an object holding the unknown fields: its own level is not theirs.
        if reason is None and json_depth(extra) - 1 > limit:
            reason = _deep_reason("an unknown top-level field", json_depth(extra) - 1, limit)
        if reason:
            found.append((int(line), reason))
    store.execute("CREATE OR REPLACE TEMP TABLE stg_deep (line BIGINT, reason VARCHAR)")
    if found:
        store.executemany("INSERT INTO stg_deep VALUES (?, ?)", found)
    return bool(found)


def _deep_reason(what: str, depth: int, limit: int) -> str:
    return f"{what} nests {depth:,} levels deep; the limit is {limit:,} (CONVOLAB_MAX_DEPTH)"
