"""Loading conversations into the store from the formats people actually have.

Three formats (DESIGN.md): canonical JSON lines, OpenAI-style chat messages
with tool calls, and CSV/Parquet with one row per message. gzip is accepted
for JSON lines. Bad records never stop a load and are never dropped: each one
goes to ``rejected_records`` with file, line and reason. Loading is an upsert
by conversation id, so re-loading is idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from convolab.errors import InvalidRecord, SourceNotReadable
from convolab.ingest import jsonl, openai, tabular
from convolab.ingest.sources import FORMATS, check_readable, detect_format, iter_line_chunks
from convolab.ingest.staging import FileReport, finish_load, install_macros, stage_json_records

__all__ = ["FORMATS", "FileReport", "LoadReport", "detect_format", "ingest"]


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
    con: duckdb.DuckDBPyConnection,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    /,
    *,
    format: str = "auto",  # noqa: A002
    mapping: dict[str, str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> LoadReport:
    """Load conversation files into the store behind ``con``.

    Parameters
    ----------
    paths
        One path or several. Every path is checked before anything is loaded,
        so a typo fails fast with :class:`~convolab.errors.SourceNotReadable`.
    format
        ``auto`` (detect per file), ``jsonl``, ``openai``, ``csv`` or ``parquet``.
    mapping
        For CSV/Parquet: field -> column (see :mod:`convolab.ingest.tabular`).
    progress
        Called as ``progress(file, records_done)`` after each file.

    Returns
    -------
    LoadReport
        Loaded, unchanged and rejected counts, with reasons.
    """
    if format not in FORMATS:
        raise InvalidRecord(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise SourceNotReadable("no input files given")
    for path in files:
        check_readable(path)
    install_macros(con)
    report = LoadReport()
    for path in files:
        fmt = detect_format(path) if format == "auto" else format
        if fmt in ("jsonl", "openai"):
            con.execute("CREATE OR REPLACE TEMP TABLE stg_raw (line BIGINT, raw BLOB)")
            for chunk in iter_line_chunks(path):
                con.register("cl_chunk", chunk)
                con.execute("INSERT INTO stg_raw SELECT line, raw FROM cl_chunk")
                con.unregister("cl_chunk")
            stage_json_records(con)
            (jsonl if fmt == "jsonl" else openai).stage_messages_and_functions(con)
        else:
            tabular.stage_tabular(con, path, fmt, mapping)
        file_report = finish_load(con, file=str(path), fmt=fmt)
        report.files.append(file_report)
        if progress is not None:
            progress(str(path), file_report.total)
    return report
