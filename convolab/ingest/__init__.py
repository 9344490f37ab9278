"""Loading conversations into the store from the formats people actually have.

Three formats (DESIGN.md): canonical JSON lines, OpenAI-style chat messages
with tool calls, and CSV/Parquet with one row per message. gzip is accepted
for JSON lines, and checked whole (CRC and length) before anything is loaded.
Bad records never stop a load and are never dropped: each one goes to
``rejected_records`` with file, line and reason. What a record may hold is
decided once for every format (:mod:`convolab.ingest.validate`: ids, limits,
nesting; :mod:`convolab.ingest.timestamps`: time shapes and range). Loading is
an upsert by conversation id, so re-loading is idempotent; within one call, an
id a later file repeats with other content is rejected, not silently replaced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from convolab.errors import InvalidArgument, SourceNotReadable
from convolab.ingest import jsonl, openai, tabular
from convolab.ingest._sql import literal
from convolab.ingest.roles import normalise_role_map, parse_role_map
from convolab.ingest.sources import (
    FORMATS,
    check_compression,
    check_readable,
    detect_format,
    is_gzip,
    load_lines,
    verify_gzip,
)
from convolab.ingest.staging import (
    RUN_COLUMNS,
    FileReport,
    exact_source_all,
    finish_load,
    install_macros,
    nest_exact,
    stage_json_records,
)
from convolab.ingest.timestamps import EARLIEST, LATEST, check_time_format
from convolab.ingest.validate import MAX_ID_CHARS, Limits, coerce_limits

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["EARLIEST", "FORMATS", "LATEST", "MAX_ID_CHARS", "FileReport", "Limits", "LoadReport", "detect_format",
           "ingest", "parse_role_map"]


@dataclass
class LoadReport:
    """The outcome of :func:`ingest`: per-file counts and the first rejection reasons."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def unchanged(self) -> int:
        return sum(f.unchanged for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def records(self) -> int:
        """Every record read: loaded, unchanged and rejected."""
        return self.loaded + self.unchanged + self.rejected

    @property
    def nothing_loaded(self) -> bool:
        """True when no record was accepted (all rejected, or the files held none)."""
        return self.loaded + self.unchanged == 0

    def reasons(self, limit: int = 10) -> list[tuple[str, int | None, str]]:
        """The first rejection reasons as (file, line, reason)."""
        out = [(f.file, line, reason) for f in self.files for line, reason in f.reasons]
        return out[:limit]

    def to_dict(self) -> dict:
        return {
            "loaded": self.loaded,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "files": [
                {"file": f.file, "format": f.format, "loaded": f.loaded, "unchanged": f.unchanged,
                 "rejected": f.rejected,
                 "reasons": [{"line": line, "reason": reason} for line, reason in f.reasons]}
                for f in self.files
            ],
        }


def ingest(
    store: Workbench,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    /,
    *,
    format: str = "auto",  # noqa: A002
    mapping: dict[str, str] | None = None,
    role_map: dict[str, str] | None = None,
    time_format: str | None = None,
    limits: Limits | dict[str, int] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> LoadReport:
    """Load conversation files into the store behind ``store``.

    Parameters
    ----------
    paths
        One path or several. Every path is checked before anything is loaded
        (it exists, it is readable, a gzip file is whole), so a typo or a damaged
        file fails fast with :class:`~convolab.errors.SourceNotReadable` (a
        :class:`~convolab.errors.DamagedSource` for a damaged one) and nothing is
        loaded.
    format
        ``auto`` (detect per file), ``jsonl``, ``openai``, ``csv`` or ``parquet``.
    mapping
        For CSV/Parquet: field -> column (see :mod:`convolab.ingest.tabular`).
    role_map
        Source role -> convolab role, applied before roles are checked, in every
        format (``{"action": "system", "bot": "agent"}``; keys ignore case).
    time_format
        A DuckDB ``strptime`` format for timestamps that are not ISO-8601, epoch
        numbers, RFC 2822 or Twitter's (those are recognised without it).
    limits
        :class:`Limits` (or a dict of some of its fields) overriding the
        ``CONVOLAB_MAX_*`` settings.
    progress
        Called as ``progress(file, records_done)`` after each file.

    Returns
    -------
    LoadReport
        Loaded, unchanged and rejected counts, with reasons.

    Examples
    --------
    >>> lab.ingest("chats.csv", mapping={"conversation_id": "chat"}, role_map={"action": "system"},
    ...            time_format="%d/%m/%Y %H:%M")
    """
    files = _paths(paths)
    if not isinstance(format, str) or format not in FORMATS:
        raise InvalidArgument(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if mapping is not None and (not isinstance(mapping, dict)
                                or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
        raise InvalidArgument("mapping must be a dict of field name -> column name (strings)")
    if progress is not None and not callable(progress):
        raise InvalidArgument(f"progress must be callable, got {type(progress).__name__}")
    roles = normalise_role_map(role_map)
    checked_limits = coerce_limits(limits)
    if time_format is not None:
        check_time_format(store, time_format)
    for path in files:
        check_readable(path)
        check_compression(path)
    for path in files:  # a damaged compressed file stops the call before anything is loaded
        if is_gzip(path):
            verify_gzip(path)
    install_macros(store, limits=checked_limits, role_map=roles, time_format=time_format)
    report = LoadReport()
    # Line numbers are rowids of a table filled in file order; that order is only
    # kept with preserve_insertion_order (DuckDB's default). A time without an
    # offset is UTC, whatever the machine's zone.
    preserve = store.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    zone = store.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    if not preserve:
        store.execute("SET preserve_insertion_order = true")
    store.execute("SET TimeZone = 'UTC'")
    # The ids accepted so far in this call, with their file and line (see finish_load).
    store.execute(f"CREATE OR REPLACE TEMP TABLE stg_run ({RUN_COLUMNS})")
    try:
        for k, path in enumerate(files):
            fmt = detect_format(path) if format == "auto" else format
            file_report = _ingest_file(store, path, fmt, mapping, checked_limits, remember=k < len(files) - 1)
            report.files.append(file_report)
            if progress is not None:
                progress(str(path), file_report.total)
    finally:
        store.execute("DROP VIEW IF EXISTS stg_ready")
        store.execute("DROP VIEW IF EXISTS stg_fast_lines")
        for table in _TEMP_TABLES:
            store.execute(f"DROP TABLE IF EXISTS {table}")
        if not preserve:
            store.execute("SET preserve_insertion_order = false")
        store.execute(f"SET TimeZone = {literal(str(zone))}")  # the session's own zone, quoted
    return report


def _paths(paths: object) -> list[Path]:
    """The paths argument as a non-empty list of paths, or :class:`InvalidArgument`."""
    if isinstance(paths, (str, os.PathLike)):
        items: list[object] = [paths]
    elif isinstance(paths, Iterable) and not isinstance(paths, (bytes, dict)):
        items = list(paths)
    else:
        raise InvalidArgument(f"paths must be a file path or a list of file paths, got {type(paths).__name__}")
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise InvalidArgument(f"paths must be file paths, got {type(item).__name__} {item!r:.60}")
    if not items:
        raise SourceNotReadable("no input files given")
    return [Path(p) for p in items]


_TEMP_TABLES = ("stg_lines", "stg_fast", "stg_exact_src", "stg_exact", "stg_rec", "stg_conv", "stg_msg",
                "stg_fn", "stg_verdict", "stg_load", "stg_deep", "stg_run")


def _ingest_file(store: Workbench, path: Path, fmt: str, mapping: dict[str, str] | None, limits: Limits, *,
                 remember: bool) -> FileReport:
    store.execute("DROP VIEW IF EXISTS stg_ready")
    store.execute("DROP VIEW IF EXISTS stg_fast_lines")
    lines = None
    if fmt == "jsonl":
        jsonl.stage(store, path, "stg_ready")

        def lines() -> None:
            if not store.has_temp_tables("stg_lines"):
                load_lines(store, path)

    elif fmt == "openai":
        load_lines(store, path)
        exact_source_all(store)
        stage_json_records(store)
        openai.stage_messages_and_functions(store)
        nest_exact(store, "stg_exact")
        store.execute("CREATE TEMP VIEW stg_ready AS SELECT * FROM stg_exact")
    else:
        tabular.stage_tabular(store, path, fmt, mapping)
        nest_exact(store, "stg_exact")
        store.execute("CREATE TEMP VIEW stg_ready AS SELECT * FROM stg_exact")
    return finish_load(store, file=str(path), fmt=fmt, staged="stg_ready", lines=lines, limits=limits,
                       remember=remember)
