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
from typing import TYPE_CHECKING

from convolab.errors import InvalidRecord, SourceNotReadable
from convolab.ingest import jsonl, openai, tabular
from convolab.ingest.sources import FORMATS, check_readable, detect_format, load_lines
from convolab.ingest.staging import (
    FileReport,
    exact_source_all,
    finish_load,
    install_macros,
    nest_exact,
    stage_json_records,
)

if TYPE_CHECKING:
    from convolab.store import Workbench


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
    store: Workbench,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    /,
    *,
    format: str = "auto",  # noqa: A002
    mapping: dict[str, str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> LoadReport:
    """Load conversation files into the store behind ``store``.

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
    install_macros(store)
    report = LoadReport()
    # Line numbers are rowids of a table filled in file order; that order is only
    # kept with preserve_insertion_order (DuckDB's default).
    preserve = store.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    if not preserve:
        store.execute("SET preserve_insertion_order = true")
    try:
        for path in files:
            fmt = detect_format(path) if format == "auto" else format
            file_report = _ingest_file(store, path, fmt, mapping)
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
    return report


_TEMP_TABLES = ("stg_lines", "stg_fast", "stg_exact_src", "stg_exact", "stg_rec", "stg_conv", "stg_msg",
                "stg_fn", "stg_verdict", "stg_load")


def _ingest_file(store: Workbench, path: Path, fmt: str, mapping: dict[str, str] | None) -> FileReport:
    store.execute("DROP VIEW IF EXISTS stg_ready")
    store.execute("DROP VIEW IF EXISTS stg_fast_lines")
    lines = None
    if fmt == "jsonl":
        jsonl.stage(store, path, "stg_ready")

        def lines() -> None:
            if not store.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stg_lines'").fetchone()[0]:
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
    return finish_load(store, file=str(path), fmt=fmt, staged="stg_ready", lines=lines)
