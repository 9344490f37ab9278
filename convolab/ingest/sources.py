"""Reading source files: existence checks, gzip, format detection, raw lines.

:func:`load_lines` puts a JSON-lines file into ``stg_lines``, one row per
physical line in file order, so a record's line number is its ``rowid + 1``
(a quarantined record is useless to the person fixing it without its line).
DuckDB's CSV reader does the split, in parallel, with quoting, escaping and
delimiters switched off. It refuses some files (bytes that are not UTF-8,
carriage returns, lines over 2 MB); those are split here in Python instead,
chunk by chunk, keeping undecodable lines so they can be quarantined.
Everything after the split (JSON parsing, type checks) is set-based in DuckDB.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from convolab.errors import SourceNotReadable
from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["FORMATS", "check_readable", "detect_format", "is_gzip", "iter_line_chunks", "lines_source", "load_lines",
           "plan_root"]

FORMATS = ("auto", "jsonl", "openai", "csv", "parquet")
_CHUNK_BYTES = 32 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
# One VARCHAR column per line: no header, no quotes, no escapes, a delimiter that
# valid JSON lines cannot contain (raw control characters), strict so that
# anything unusual is an error (and the Python splitter takes over), never a guess.
_READ_CSV = (
    "(SELECT raw, false AS bad_utf8 FROM read_csv(?,"
    " columns = {'raw': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false,"
    " auto_detect = false, new_line = '\\n', strict_mode = true, compression = ?))"
)


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


#: DuckDB's CSV buffer size in bytes (None: its default). Tests make it small to
#: exercise a file read in many pieces by several threads.
BUFFER_BYTES: int | None = None


def lines_source(path: Path) -> tuple[str, list[str]]:
    """A subquery ``(raw VARCHAR, bad_utf8 BOOLEAN)`` over the file's lines, in order, and its parameters.

    DuckDB's parallel CSV reader, set up to split lines only. It raises on the
    files it cannot split exactly (see the module docstring); :func:`load_lines`
    handles those.
    """
    source = _READ_CSV
    if BUFFER_BYTES:
        source = source.replace("compression = ?)", f"compression = ?, buffer_size = {int(BUFFER_BYTES)})")
    return source, [str(path), "gzip" if is_gzip(path) else "none"]


def plan_root(store: Workbench, sql: str, params: list | None = None) -> str:
    """The name of the top physical operator DuckDB would run for ``sql``.

    ``BATCH_CREATE_TABLE_AS`` means the rows are stored in the order the plan
    produces them, which is what makes rowid + 1 a line number.
    """
    plan = store.execute(f"EXPLAIN (FORMAT json) {sql}", params or []).fetchall()[0][1]
    try:
        return str(json.loads(plan)[0]["name"])
    except (ValueError, LookupError, TypeError):  # a plan format we do not know: trust nothing
        return ""


def load_lines(store: Workbench, path: Path) -> str:
    """Fill ``stg_lines(raw VARCHAR, bad_utf8 BOOLEAN)``: line N of the file is rowid N - 1.

    Empty lines are NULL; a line that is not valid UTF-8 has ``bad_utf8`` set and
    a NULL ``raw``. A leading UTF-8 byte-order mark is dropped. Returns which
    reader did the split (``duckdb`` or ``python``), for profiling and tests.
    """
    source, params = lines_source(path)
    ctas = f"CREATE OR REPLACE TEMP TABLE stg_lines AS SELECT * FROM {source}"  # noqa: S608
    try:
        if plan_root(store, ctas, params) == "BATCH_CREATE_TABLE_AS":  # keeps the file's order
            store.execute(ctas, params)
            return "duckdb"
    except DatabaseError:
        pass
    # Explicit line numbers and ORDER BY, so rowid order is line order whatever
    # the Arrow scan does.
    store.execute("CREATE OR REPLACE TEMP TABLE stg_bytes (line BIGINT, raw BLOB)")
    for chunk in iter_line_chunks(path):
        with store.registered("cl_chunk", chunk):
            store.execute("INSERT INTO stg_bytes SELECT line, raw FROM cl_chunk")
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE stg_lines AS
        SELECT CASE WHEN octet_length(raw) > 0 THEN try(decode(raw)) END AS raw,
               octet_length(raw) > 0 AND try(decode(raw)) IS NULL AS bad_utf8
        FROM stg_bytes ORDER BY line
        """
    )
    store.execute("DROP TABLE stg_bytes")
    return "python"


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
                if line_no == 1 and not rest and block.startswith(_BOM):
                    block = block[len(_BOM):]
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
