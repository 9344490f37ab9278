"""The :class:`Workbench`: the one object every part of convolab reads and writes the store through.

``convolab.open()`` returns it. Notebooks get polars DataFrames from it, widgets
page through it, the CLI drives it, and the domain modules (ingest, emotions,
flags, audio, reports, live) run their own SQL through :meth:`Workbench.execute`
and :meth:`Workbench.sql` rather than holding a database connection. The jobs
behind the facade live in their own modules: :mod:`._connection` (opening,
transactions), :mod:`.schema` (tables and migrations), :mod:`.pages`,
:mod:`.detail`, :mod:`.reviews`, :mod:`.audit` and :mod:`.delete`.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from convolab import settings
from convolab.errors import ConvolabError, InvalidArgument, StoreInUse
from convolab.store import pages, schema
from convolab.store._connection import DatabaseError, connect_file, rollback, transaction
from convolab.store.audit import list_audit, write_audit
from convolab.store.delete import delete_conversation
from convolab.store.detail import conversation, functions, require, transcript
from convolab.store.lake import (
    LakeLocation,
    WriterLock,
    connect_lake,
    detach,
    is_conflict,
    is_lake,
    prepare_cursor,
)
from convolab.store.pages import ConversationFilter
from convolab.store.reviews import list_flags, unreviewed_flags

if TYPE_CHECKING:
    from convolab.ingest import LoadReport

__all__ = ["Result", "Workbench", "default_db_path", "open"]

T = TypeVar("T")

# When an ingest rebuilds the order tables (about 0.1 s per 10k conversations): only for stores
# big enough that sorting them directly is noticeably slower than reading an order table, and
# only for bulk loads. A small load (a finished live call) leaves them stale: pages then sort
# the store directly (tens of ms at 1M) until the next bulk load or refresh_table_orders().
_ORDERS_MIN_STORE = 100_000
_ORDERS_MIN_LOAD = 1_000

# Ids a file store draws from sequences (schema v1, v3, v4); a lake has none (see new_id_sql).
_SEQUENCES = {"flags": "flag_seq", "audit_log": "audit_seq", "loads": "load_seq", "coaching_notes": "coaching_seq"}

# Team-store statements outside a transaction that write the lake (and so take the writers'
# turn): anything but a query or a change to this connection's own temporary objects.
_LAKE_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|COPY|TRUNCATE)\b", re.IGNORECASE)
_TEMP_ONLY = re.compile(r"^\s*(CREATE\s+(OR\s+REPLACE\s+)?TEMP(ORARY)?\b|DROP\s+(TABLE|VIEW|MACRO)\s+IF\s+EXISTS\s+(stg_|oa_|tab_|_))",
                        re.IGNORECASE)

# Whole transactions run again after a write conflict on a team store: this many times at
# most, waiting 20 ms, 40 ms, ... (at most 2 s, jittered) in between.
_ATTEMPTS = 25
_FIRST_WAIT_S = 0.02
_LONGEST_WAIT_S = 2.0


def default_db_path() -> Path:
    """The store used when none is given: ``$CONVOLAB_DB`` or ``data/convolab.duckdb``."""
    return Path(settings.current().db)


def open(path: str | os.PathLike[str] | None = None, *, read_only: bool = False,  # noqa: A001
         wait: float = 0) -> Workbench:
    """Open (creating and migrating if needed) the conversation store.

    Parameters
    ----------
    path
        The DuckDB file, or a team store: ``ducklake:sqlite:PATH`` or
        ``ducklake:postgres:CONNINFO``, either with an optional ``?data=FOLDER`` for its
        Parquet files (see :mod:`convolab.store.lake`). Defaults to ``$CONVOLAB_DB`` or
        ``data/convolab.duckdb``. ``":memory:"`` gives a throwaway in-memory store.
    read_only
        Open without write access (several readers may share a file).
    wait
        Seconds to keep trying while another process has the file open for writing
        (a dashboard page reloading while its old kernel closes); 0 fails at once.
        A team store is never held by one process.

    Raises
    ------
    convolab.errors.StoreInUse
        Another process has the file open for writing (a DuckDB file has one writer).

    Examples
    --------
    >>> import convolab
    >>> lab = convolab.open("data/convolab.duckdb")
    >>> lab.list_conversations(status="failed", limit=10)
    >>> team = convolab.open("ducklake:sqlite:/srv/convolab/catalog.sqlite")
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return Workbench(path, read_only=read_only)
        except StoreInUse:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _whole(name: str, value: Any) -> int:
    """A row limit: a whole number >= 0, else :class:`~convolab.errors.InvalidArgument`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{name} must be a whole number >= 0, got {value!r}")
    return value


class Result:
    """The rows of one statement run with :meth:`Workbench.execute`."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def columns(self) -> list[str]:
        """The result's column names."""
        return [d[0] for d in self._cursor.description or []]

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or ``None``."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""
        return self._cursor.fetchall()

    def scalar(self) -> Any:
        """The first column of the first row (``None`` when there is no row)."""
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def pl(self) -> pl.DataFrame:
        """The rows as a polars DataFrame."""
        return self._cursor.pl()

    def arrow(self) -> Any:
        """The rows as a pyarrow Table."""
        return self._cursor.fetch_arrow_table()

    def dicts(self) -> list[dict[str, Any]]:
        """Every remaining row as a dict keyed by column name."""
        names = self.columns
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]


class Workbench:
    """A conversation store opened for analysis and review.

    Use :func:`convolab.open` to get one. The workbench is a context manager; it
    closes its database connection on exit.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        location = os.fspath(path) if path is not None else settings.current().db
        self.read_only = read_only
        self._in_transaction = False
        if is_lake(location):
            #: The team store's location (``ducklake:...``), or None for a file store.
            self.lake: LakeLocation | None = LakeLocation.parse(location)
            #: Where the store is: the file's path, or the team store's location (no password).
            self.path: Path | str = str(self.lake)
            self._con, self._catalog = connect_lake(self.lake, read_only=read_only)
            self._alias: str | None = self._catalog  # detached when this workbench (not a cursor) closes
            self._writer: WriterLock | None = WriterLock(self.lake)
        else:
            self.lake = None
            self.path = Path(location)
            self._writer = None
            self._alias = self._catalog = None
            self._con = connect_file(None if location == ":memory:" else self.path, read_only=read_only)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _migrate(self) -> None:
        if not self.read_only:
            if self.lake is None:
                schema.migrate(self._con)
            else:
                with self._writer.held():
                    schema.migrate(self._con, lake=True, retry=self.retrying)
        elif schema.current_version(self._con) < schema.SCHEMA_VERSION:
            raise ConvolabError(
                f"{self.path} uses an older schema; open it once without read_only to migrate it"
            )

    # -- plumbing ---------------------------------------------------------------------

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<convolab.Workbench {self.path}>"

    @property
    def backend(self) -> str:
        """``"file"`` (one DuckDB file) or ``"lake"`` (a team store in DuckLake)."""
        return "file" if self.lake is None else "lake"

    def close(self) -> None:
        """Close the underlying database connection."""
        self._con.close()
        if self._alias is not None:
            detach(self._alias)
            self._alias = None

    def cursor(self) -> Workbench:
        """A workbench on the same database for use from another thread.

        A DuckDB connection must not be used by two threads at once (one thread
        could read the other's result), so background work such as saving a
        finished live call runs on its own cursor. Close it when done.
        """
        other = object.__new__(Workbench)
        other.path = self.path
        other.read_only = self.read_only
        other.lake = self.lake
        other._writer = self._writer
        other._in_transaction = False
        other._catalog = self._catalog
        other._alias = None  # the lake stays attached until this workbench closes
        other._con = self._con.cursor()
        if self.lake is not None:
            prepare_cursor(other._con, self._catalog)
        return other

    @property
    def schema_version(self) -> int:
        """The schema version of the open store."""
        return schema.current_version(self._con)

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a parameterised SQL query and return the result as a polars DataFrame.

        Examples
        --------
        >>> lab.sql("SELECT flow, count(*) AS n FROM conversations WHERE status = ? GROUP BY 1",
        ...         ["failed"])
        """
        return self._run(query, params).pl()

    def execute(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Result:
        """Run one parameterised statement; the :class:`Result` fetches its rows.

        Domain modules (ingest, flags, emotions, audio, reports) keep their SQL beside
        their logic and run it through the store with this, so no module outside the
        store holds a database connection. Values always travel as ``params``.

        On a team store, a statement run outside :meth:`transaction` is its own
        transaction: one that writes the lake waits for its turn (SQLite catalogs) and
        is run again if its commit collides with another's.
        """
        return Result(self._run(query, params))

    def _run(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        if self.lake is None or self._in_transaction:
            return self._con.execute(query, params or [])
        writes = bool(_LAKE_WRITE.match(query)) and not _TEMP_ONLY.match(query)

        def once() -> Any:
            if not writes:
                return self._con.execute(query, params or [])
            with self._writer.held():
                return self._con.execute(query, params or [])

        return self.retrying(once)

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one parameterised statement once per row of ``rows``."""
        rows = list(rows)
        if self.lake is None or self._in_transaction:
            self._con.executemany(query, rows)
            return
        # One transaction for all rows: on a lake every commit is a snapshot.
        def once() -> None:
            with self.transaction():
                self._con.executemany(query, rows)

        self.retrying(once)

    @contextmanager
    def transaction(self) -> Iterator[Workbench]:
        """Run the block in one transaction: commit if it finishes, roll back if it raises.

        On a team store the block sees one snapshot of the lake, and its writes
        commit together or not at all. A commit that collides with another
        transaction's raises a conflict error: run the block through
        :meth:`retrying` to have it run again.
        """
        if self.lake is None:
            with transaction(self._con):
                yield self
            return
        with self._writer.held():
            self._in_transaction = True
            try:
                with transaction(self._con):
                    yield self
            finally:
                self._in_transaction = False

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Run several reads on one snapshot of a team store (one catalog round trip, not one each).

        On a file store, or inside a transaction, the reads just run.
        """
        if self.lake is None or self._in_transaction:
            yield
            return
        self.retrying(self._con.execute, "BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            rollback(self._con)
            raise
        finally:
            self._in_transaction = False
        self._con.execute("COMMIT")

    def retrying(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, run again while a team store reports a write conflict.

        Wrap a whole unit of work that opens its own :meth:`transaction` (a context
        manager cannot run its block twice). On a file store, or inside a transaction
        (which a conflict has already ended), ``fn`` runs once. Waits grow from 20 ms
        to 2 s between tries; after 25 tries the conflict is raised.

        Examples
        --------
        >>> def record():
        ...     with lab.transaction():
        ...         lab.execute("INSERT INTO ground_truth VALUES (?, ?, ?)", ["c-1", "late", "import"])
        >>> lab.retrying(record)
        """
        if self.lake is None or self._in_transaction:
            return fn(*args, **kwargs)
        wait = _FIRST_WAIT_S
        for attempt in range(_ATTEMPTS):
            try:
                return fn(*args, **kwargs)
            except DatabaseError as exc:
                if not is_conflict(exc) or attempt == _ATTEMPTS - 1:
                    raise
            time.sleep(wait * (0.5 + random.random()))
            wait = min(wait * 2, _LONGEST_WAIT_S)
        raise AssertionError("unreachable")

    def claim(self, name: str) -> None:
        """Make the open transaction exclusive with every other one that claims ``name``.

        A team store has no unique keys: two transactions that each insert the same new
        conversation id (two ingests of one file at once) would both commit. Claiming
        ``"conversations"`` (or ``"flags"``) in both makes the later commit a conflict,
        which :meth:`retrying` runs again on the newer snapshot. A file store has one
        writer at a time, so there this does nothing.
        """
        if self.lake is None:
            return
        table = schema.WRITE_TOKENS[name]  # a fixed name, never caller text beyond the key
        self._con.execute(f"UPDATE {table} SET turns = turns + 1")  # noqa: S608

    def new_id_sql(self, table: str) -> str:
        """An SQL expression that gives each row a new id for ``table``'s id column.

        ``flags`` (flag_id), ``audit_log``, ``loads`` and ``coaching_notes``: a sequence in a
        file store; in a team store, 63-bit ids that grow with time (microseconds since
        2020 times 4096, plus a per-connection counter), since a lake has no sequences.

        Examples
        --------
        >>> lab.execute(f"INSERT INTO coaching_notes (id, call_id, created_at, actor, text)"
        ...             f" VALUES ({lab.new_id_sql('coaching_notes')}, ?, now(), ?, ?)", [...])
        """
        sequence = _SEQUENCES[table]
        return f"nextval('{sequence}')" if self.lake is None else "convolab_new_id()"

    def upsert(self, table: str, row: dict[str, Any], *, key: Sequence[str] = ("id",)) -> None:
        """Insert ``row`` into ``table``, replacing the row with the same ``key`` values.

        ``table`` and the column names are the caller's constants; the values are bound.
        """
        columns = list(row)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        values = [row[c] for c in columns]
        if self.lake is None:
            self._con.execute(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", values)  # noqa: S608
            return
        where = " AND ".join(f"{k} = ?" for k in key)

        def replace() -> None:
            with self.transaction():
                self._con.execute(f"DELETE FROM {table} WHERE {where}", [row[k] for k in key])  # noqa: S608
                self._con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)  # noqa: S608

        self.retrying(replace)

    @contextmanager
    def registered(self, name: str, table: Any) -> Iterator[str]:
        """Make an Arrow table (or polars/pandas frame) queryable as ``name`` inside the block."""
        self._con.register(name, table)
        try:
            yield name
        finally:
            self._con.unregister(name)

    def has_temp_tables(self, *names: str) -> bool:
        """Whether this connection holds every one of the temporary tables ``names`` (a cache
        or staging table made earlier in the session)."""
        found = self._run(
            "SELECT count(DISTINCT table_name) FROM duckdb_tables() WHERE temporary AND list_contains(?, table_name)",
            [list(names)],
        ).fetchone()[0]
        return found == len(set(names))

    # -- loading ----------------------------------------------------------------------

    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        /,
        *,
        format: str = "auto",  # noqa: A002
        mapping: dict[str, str] | None = None,
        role_map: dict[str, str] | None = None,
        time_format: str | None = None,
        limits: Any = None,
        progress: Any = None,
    ) -> LoadReport:
        """Load conversation files into the store (see :func:`convolab.ingest.ingest`)."""
        from convolab.ingest import ingest

        # The pre-sorted order tables of the conversations table are marked stale before the
        # load touches anything, so no page is ever served from an order table that predates
        # it (a failed load may have committed part of its files). Afterwards they are rebuilt
        # for a bulk load into a big store, restored when nothing changed, else left stale.
        if self.lake is not None:  # a lake's pages sort the store itself (schema v6)
            return ingest(self, paths, format=format, mapping=mapping, role_map=role_map,
                          time_format=time_format, limits=limits, progress=progress)
        fresh = self._con.execute("SELECT * FROM table_order_state").fetchall()
        self._con.execute("DELETE FROM table_order_state")
        report = ingest(self, paths, format=format, mapping=mapping, role_map=role_map, time_format=time_format,
                        limits=limits, progress=progress)
        if report.loaded == 0 and fresh:
            self._con.executemany("INSERT INTO table_order_state VALUES (?, ?, ?, ?)", fresh)
        elif report.loaded > 0:
            total = self._con.execute("SELECT count(*) FROM conversations").fetchone()[0]
            if total >= _ORDERS_MIN_STORE and report.loaded >= _ORDERS_MIN_LOAD:
                self.refresh_table_orders()
        return report

    def refresh_table_orders(self) -> None:
        """Rebuild the pre-sorted order tables that conversations-table pages read (schema v6).

        A bulk :meth:`ingest` into a big store rebuilds them and :meth:`delete` keeps them
        fresh; smaller loads leave them stale, and pages then sort the store directly. Call
        this after such loads to make pages fast again, or after writing ``conversations``
        with plain SQL: a changed row count is noticed, but an in-place ``UPDATE`` of a sort
        or filter column is only seen after this call. A team store has no order tables.
        """
        if self.lake is None:
            pages.refresh_table_orders(self)

    def list_rejected(self, *, limit: int | None = None) -> pl.DataFrame:
        """Records that could not be loaded: file, line, conversation id, reason, raw record."""
        query = ("SELECT file, line, conversation_id, reason, record, rejected_at FROM rejected_records"
                 " ORDER BY rejected_at DESC, file, line")
        if limit is not None:
            _whole("limit", limit)
            return self.sql(query + " LIMIT ?", [limit])
        return self.sql(query)

    # -- the conversations table --------------------------------------------------------

    def count_conversations(self, filters: ConversationFilter | None = None, **kwargs: Any) -> int:
        """How many conversations match the filters (same keywords as :class:`ConversationFilter`)."""
        with self._reading():
            return pages.count_conversations(self, filters or ConversationFilter(**kwargs))

    def list_conversations(
        self,
        filters: ConversationFilter | None = None,
        *,
        sort: str = "date",
        descending: bool = True,
        limit: int | None = 50,
        offset: int = 0,
        **kwargs: Any,
    ) -> pl.DataFrame:
        """One page of the conversations table, columns in the contract's order.

        Filtering, sorting and paging run in DuckDB over ``conversations`` alone
        (one top-N scan, or a pre-sorted order table); functions, tags and
        parameters come from the row's own summary columns, and only the open
        flags of the page's ids are looked up, so no child table is read for a
        page. Keyword filters are those of :class:`ConversationFilter`; sorting by
        ``flagged`` sorts by the number of open flags. A value of the wrong type is
        an :class:`~convolab.errors.InvalidArgument`.

        Columns: id, flow, platform, contact, status, duration_s, last_message,
        date, flagged, functions (names, in call order), tags and parameters
        (lists of ``{key, value}`` structs, sorted by key).
        """
        with self._reading():
            return pages.list_conversations(self, filters or ConversationFilter(**kwargs), sort=sort,
                                            descending=descending, limit=limit, offset=offset)

    def list_flows(self) -> list[str]:
        """The distinct flows in the store, sorted."""
        return pages.list_flows(self)

    # -- one conversation -----------------------------------------------------------------

    def has_conversation(self, conversation_id: str) -> bool:
        """Whether a conversation with this id is in the store."""
        pages._text("conversation_id", conversation_id)
        return self._run("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is not None

    def transcript(self, conversation_id: str) -> pl.DataFrame:
        """The messages of one conversation in order: seq, role, text, sent_at."""
        return transcript(self, conversation_id)

    def functions(self, conversation_id: str) -> pl.DataFrame:
        """The function calls of one conversation: seq, name, arguments, output, status, called_at."""
        return functions(self, conversation_id)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """Everything the detail view shows, with keys in the contract's order.

        Keys: id, flow, contact, then platform, contact_id, status, tags,
        sentiment, duration_s, started_at, ended_at, review_flags, summary,
        analysis (the contract's detail fields), then transcript, functions,
        parameters and recording.
        """
        with self._reading():
            return conversation(self, conversation_id)

    def list_flags(self, *, conversation_id: str | None = None, criterion: str | None = None) -> pl.DataFrame:
        """Review flags with their newest QA decision (if any)."""
        pages._text("conversation_id", conversation_id)
        pages._text("criterion", criterion)
        with self._reading():
            return list_flags(self, conversation_id=conversation_id, criterion=criterion)

    def unreviewed_flags(self, *, limit: int = 200) -> pl.DataFrame:
        """Flags no reviewer has decided yet, newest first (the QA queue)."""
        _whole("limit", limit)
        return unreviewed_flags(self, limit=limit)

    def export(self, conversation_id: str, format: str = "txt") -> bytes:  # noqa: A002
        """The conversation's transcript as ``txt``, ``json`` or ``csv`` bytes (see :mod:`convolab.export`)."""
        from convolab.export import export_conversation

        return export_conversation(self.conversation(conversation_id), format)

    def delete(self, conversation_id: str, *, actor: str | None = None) -> dict[str, int]:
        """Delete a conversation and every row derived from it; audit who did it.

        Returns the number of rows removed per table.
        """
        return delete_conversation(self, conversation_id, actor=actor)

    def _require(self, conversation_id: str) -> dict[str, Any]:
        return require(self, conversation_id)

    # -- audit ------------------------------------------------------------------------------

    def audit(
        self,
        action: str,
        *,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
        result: str | None = None,
    ) -> None:
        """Append an entry to the audit log (who did what to which conversation or call)."""
        write_audit(self, action, target=target, details=details, actor=actor, result=result)

    def list_audit(self, *, target: str | None = None, limit: int = 100) -> pl.DataFrame:
        """The newest audit-log entries, optionally for one conversation or call."""
        pages._text("target", target)
        _whole("limit", limit)
        return list_audit(self, target=target, limit=limit)
