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
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from convolab.errors import DamagedSource, SourceNotReadable
from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["FORMATS", "check_readable", "detect_format", "is_gzip", "iter_line_chunks", "lines_source", "load_lines",
           "plan_root", "verify_gzip"]

FORMATS = ("auto", "jsonl", "openai", "csv", "parquet")
_CHUNK_BYTES = 32 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# Compressions convolab does not read: a clear refusal beats every line "invalid JSON".
_OTHER_MAGIC = {b"\x28\xb5\x2f\xfd": "zstd", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
_VERIFY_BYTES = 1 << 16
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


def check_compression(path: Path) -> None:
    """Refuse a file compressed with something other than gzip, naming the compression."""
    with path.open("rb") as fh:
        head = fh.read(10)
    for magic, name in _OTHER_MAGIC.items():
        # bzip2's "BZh" could begin a CSV header: its level digit and block magic must follow
        if name == "bzip2" and not (head[3:4].isdigit() and head[4:10] == b"1AY&SY"):
            continue
        if head.startswith(magic) and not path.name.lower().endswith((".parquet", ".xlsx")):
            raise SourceNotReadable(f"{path}: {name}-compressed; convolab reads plain or gzip files"
                                    f" (decompress it, or recompress it with gzip)")


def verify_gzip(path: Path) -> int:
    """Decompress a gzip file once, checking each member's CRC-32 and length, as ``gzip -t`` does.

    DuckDB's gzip reader checks neither, so a flipped bit can turn records into
    other, valid-looking ones (an id renamed, a line split) and a truncated file
    simply ends early. This pass costs one decompression (``bench/ingest.py
    --gzip`` measures it) and runs before anything is loaded. Concatenated
    members and trailing zero padding are accepted, as gzip accepts them.

    Returns the number of lines. Raises :class:`~convolab.errors.DamagedSource`
    saying how far reading got and what is lost.
    """
    size = path.stat().st_size
    read = out = lines = members = 0
    decoder = zlib.decompressobj(31)
    started = False  # the current member has begun
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_VERIFY_BYTES):
                read += len(chunk)
                while chunk:
                    if not started and members and not chunk.strip(b"\x00"):
                        break  # zero padding after a complete member
                    started = True
                    data = decoder.decompress(chunk)
                    out += len(data)
                    lines += data.count(b"\n")
                    if not decoder.eof:
                        break
                    members += 1
                    chunk, decoder, started = decoder.unused_data, zlib.decompressobj(31), False
    except zlib.error as exc:
        problem = str(exc).split(": ", 1)[-1]
        done = f"{lines:,} lines ({out:,} bytes) had been decompressed"
        if problem in ("incorrect data check", "incorrect length check"):
            # Only checked at the end of a member: every line of it may be wrong.
            check = "CRC-32" if problem == "incorrect data check" else "length"
            message = (f"damaged gzip data: the data does not match its {check} check, read at compressed byte"
                       f" {read:,} of {size:,}; {done}, but which of them changed cannot be known")
        else:
            where = ("the start of the file" if not members and not out
                     else f"compressed bytes {max(read - _VERIFY_BYTES, 0):,}..{read:,} of {size:,}")
            if problem == "incorrect header check":
                problem = "bad gzip header" if not members else "data after the last gzip member is not gzip"
            message = f"damaged gzip data ({problem}) at {where}, after {done}"
        raise DamagedSource(
            f"{path}: {message}; nothing from this file was loaded (gzip -t shows the same; restore the file"
            " from its source)",
            file=str(path), compressed_bytes=read, compressed_size=size, lines=lines, bytes_out=out,
        ) from None
    except OSError as exc:
        raise SourceNotReadable(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if started:
        raise DamagedSource(
            f"{path}: truncated gzip file: it ends after {size:,} compressed bytes, {lines:,} complete lines"
            f" ({out:,} bytes) into the data; the rest of the file (an unknown number of records) is missing,"
            " so nothing from this file was loaded (restore the whole file and load it again)",
            file=str(path), compressed_bytes=read, compressed_size=size, lines=lines, bytes_out=out,
        )
    return lines


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
