"""Opening the database behind a store, and transactions on it.

This module (with the rest of :mod:`convolab.store`) is the only place that
holds a DuckDB connection; everything else goes through the store object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from convolab.errors import ConvolabError, StoreInUse

__all__ = ["DatabaseError", "connect_file", "first_line", "rollback", "transaction"]

#: Any error DuckDB raises; domain modules catch this name instead of importing duckdb.
DatabaseError = duckdb.Error

# DuckDB's lock error names the process that holds the file:
#   'Could not set lock on file "x": Conflicting lock is held in /usr/bin/python3 (PID 1234) by user u.'
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (DuckDB's messages run to several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect_file(path: Path | None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to a DuckDB file (``None``: an in-memory store).

    A file that another process has open for writing fails at once with
    :class:`~convolab.errors.StoreInUse` naming that process, rather than
    waiting for it: a DuckDB file has one writer at a time.
    """
    if path is None:
        return duckdb.connect(":memory:")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        holder = _LOCK_HOLDER.search(str(exc))
        if holder:
            raise StoreInUse(path, pid=int(holder["pid"])) from None
        raise ConvolabError(f"cannot open store {path}: {first_line(exc)}") from exc
    except duckdb.Error as exc:
        raise ConvolabError(f"{path} is not a convolab DuckDB store: {first_line(exc)}") from exc


@contextmanager
def transaction(con: Any) -> Iterator[Any]:
    """Run the block in one transaction: commit if it finishes, roll back if it raises.

    A commit that fails (a team store's write conflict) leaves no transaction behind,
    so its error is raised as it is.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        rollback(con)
        raise
    con.execute("COMMIT")


def rollback(con: Any) -> None:
    """Roll back the open transaction, if there still is one."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # none active (the failed statement or commit ended it)
