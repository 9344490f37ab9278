"""Reading source files: existence checks, gzip, format detection, raw lines.

JSON-lines files are split into lines here, chunk by chunk, with their line
numbers; everything after that (UTF-8 validation, JSON parsing, type checks)
happens set-based in DuckDB. DuckDB's own JSON reader is faster at parsing but
does not expose line numbers, and a quarantined record is useless to the person
fixing it without its line.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from convolab.errors import SourceNotReadable

__all__ = ["FORMATS", "check_readable", "detect_format", "is_gzip", "iter_line_chunks"]

FORMATS = ("auto", "jsonl", "openai", "csv", "parquet")
_CHUNK_BYTES = 32 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def check_readable(path: Path) -> None:
    """Raise :class:`SourceNotReadable` with one clear line if ``path`` cannot be read."""
    if not path.exists():
        raise SourceNotReadable(f"{path}: no such file")
    if path.is_dir():
        raise SourceNotReadable(f"{path}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise SourceNotReadable(f"{path}: permission denied")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise SourceNotReadable(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name)."""
    with path.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _open_binary(path: Path):
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


def detect_format(path: Path) -> str:
    """Guess a file's format: ``parquet``, ``csv``, ``openai`` or ``jsonl`` (canonical).

    Parquet and CSV are recognised by their magic bytes or extension. A JSON-lines
    file is OpenAI-style when its first parseable record's messages use ``content``
    or the user/assistant/tool roles.
    """
    name = path.name.lower().removesuffix(".gz")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == b"PAR1" or name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    try:
        with _open_binary(path) as fh:
            for _, raw in zip(range(200), fh, strict=False):
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                messages = record.get("messages") if isinstance(record, dict) else None
                if not isinstance(messages, list):
                    continue
                for message in messages:
                    if isinstance(message, dict):
                        if "content" in message or message.get("role") in ("user", "assistant", "tool"):
                            return "openai"
                        return "jsonl"
    except (OSError, EOFError) as exc:
        raise SourceNotReadable(f"{path}: cannot be read ({exc})") from exc
    return "jsonl"


def iter_line_chunks(path: Path) -> Iterator[pa.Table]:
    """Yield Arrow tables ``(line BIGINT, raw BINARY)`` covering every line of the file.

    Lines are numbered from 1 as a text editor shows them. The split is done per
    32 MiB chunk with ``bytes.split`` (C speed); bytes are not decoded here so that
    invalid UTF-8 reaches DuckDB and is quarantined with its line number.
    """
    line_no = 1
    rest = b""
    try:
        with _open_binary(path) as fh:
            while True:
                block = fh.read(_CHUNK_BYTES)
                if not block:
                    break
                lines = (rest + block).split(b"\n")
                rest = lines.pop()
                if lines:
                    yield _table(lines, line_no)
                    line_no += len(lines)
    except (OSError, EOFError) as exc:  # truncated gzip, I/O error
        raise SourceNotReadable(f"{path}: cannot be read ({exc})") from exc
    if rest:
        yield _table([rest], line_no)


def _table(lines: list[bytes], first_line: int) -> pa.Table:
    return pa.table(
        {
            "line": pa.array(range(first_line, first_line + len(lines)), type=pa.int64()),
            "raw": pa.array(lines, type=pa.binary()),
        }
    )
