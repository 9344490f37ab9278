"""The conversation store: one DuckDB file, opened as a :class:`Workbench`.

``convolab.open()`` returns the workbench every other part uses: notebooks get
polars DataFrames from it, widgets page through it, the CLI drives it. All
queries are parameterised; sort keys and filters map onto a fixed set of SQL
expressions so no user text ever becomes SQL.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from convolab import schema
from convolab._db import transaction
from convolab.conversations import PLATFORM_ICONS, STATUS_ALIASES
from convolab.errors import ConversationNotFound, ConvolabError

if TYPE_CHECKING:
    from convolab.ingest import LoadReport

__all__ = ["ConversationFilter", "Workbench", "default_db_path", "open"]

DEFAULT_DB = Path("data") / "convolab.duckdb"

#: Keys of :meth:`Workbench.list_conversations` rows, in the contract's column order.
TABLE_KEYS = (
    "id",
    "flow",
    "platform",
    "contact",
    "status",
    "duration_s",
    "last_message",
    "date",
    "flagged",
    "functions",
    "tags",
    "parameters",
)

# Sort keys a caller may ask for -> the SQL expression they sort by. Anything else is refused.
_SORT_EXPRESSIONS = {
    "id": "c.id",
    "flow": "c.flow",
    "platform": "c.platform",
    "contact": "c.contact",
    "status": "c.status",
    "duration": "c.duration_s",
    "duration_s": "c.duration_s",
    "last_message": "c.last_message",
    "date": "c.started_at",
    "started_at": "c.started_at",
    "flagged": "coalesce(fo.open_flags, 0)",
    "functions": "c.function_count",
}

# The first window of an order-table page scan, in positions (see Workbench._ordered_page).
_FIRST_WINDOW = 4096

# When an ingest rebuilds the order tables (about 0.1 s per 10k conversations): only for stores
# big enough that sorting them directly is noticeably slower than reading an order table, and
# only for bulk loads. A small load (a finished live call) leaves them stale: pages then sort
# the store directly (tens of ms at 1M) until the next bulk load or refresh_table_orders().
_ORDERS_MIN_STORE = 100_000
_ORDERS_MIN_LOAD = 1_000

# Pages up to this many rows look their open flags up with a constant IN-list; longer
# listings (``limit=None``, exports) join set-based instead.
_IN_LIST_MAX = 1000

# A page row straight from ``conversations`` (alias ``c``). Functions, tags and parameters
# come from the row's JSON summary columns (schema v7), so a page never reads a child
# table; they are decoded here, for the page's rows only.
_PAGE_COLUMNS = (
    "c.id, c.flow, c.platform, c.contact, c.status, c.duration_s, c.last_message, c.started_at AS date,"
    " c.function_names::VARCHAR AS functions, c.tag_entries::VARCHAR AS tags,"
    " c.parameter_entries::VARCHAR AS parameters"
)
_KEY_VALUES = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))
_PAGE_SUMMARIES = {"functions": pl.List(pl.String), "tags": _KEY_VALUES, "parameters": _KEY_VALUES}


def default_db_path() -> Path:
    """The store file used when none is given: ``$CONVOLAB_DB`` or ``data/convolab.duckdb``."""
    env = os.environ.get("CONVOLAB_DB")
    return Path(env) if env else DEFAULT_DB


def current_actor() -> str:
    """Who is acting, for the audit log: ``$CONVOLAB_USER`` or the OS user."""
    try:
        return os.environ.get("CONVOLAB_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def open(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Workbench:  # noqa: A001
    """Open (creating and migrating if needed) the conversation store.

    Parameters
    ----------
    path
        The DuckDB file. Defaults to ``$CONVOLAB_DB`` or ``data/convolab.duckdb``.
        ``":memory:"`` gives a throwaway in-memory store.
    read_only
        Open without write access (several readers may share a file).

    Examples
    --------
    >>> import convolab
    >>> lab = convolab.open("data/convolab.duckdb")
    >>> lab.list_conversations(status="failed", limit=10)
    """
    return Workbench(path, read_only=read_only)


@dataclass(frozen=True)
class ConversationFilter:
    """Filters shared by the table widget, the CLI and :meth:`Workbench.list_conversations`.

    Every value is bound as a query parameter; ``None`` means "no filter".
    """

    status: str | Sequence[str] | None = None
    flow: str | Sequence[str] | None = None
    platform: str | None = None
    flagged: bool | None = None
    search: str | None = None
    emotion: str | None = None
    since: datetime | date | None = None
    until: datetime | date | None = None
    #: Conversations with a review flag of this criterion (raised, whatever QA decided).
    criterion: str | None = None
    #: ``(key, value)``: conversations carrying this tag, e.g. ``("call_reason", "billing")``.
    tag: tuple[str, str] | None = None
    #: Conversations in which a call of this function returned an error.
    failed_function: str | None = None
    #: Whether a human (a ``human_agent`` or ``supervisor`` message) took part.
    human: bool | None = None
    #: The customer's overall polarity (positive | negative | ambiguous | neutral) under the
    #: latest scoring run's model.
    polarity: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL WHERE clause (over alias ``c``) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("status", self.status), ("flow", self.flow)):
            if value is None or value == "" or value == []:
                continue
            values = [value] if isinstance(value, str) else list(value)
            if column == "status":
                values = [STATUS_ALIASES.get(v, v) for v in values]
            clauses.append(f"c.{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
        if self.platform:
            clauses.append("c.platform = ?")
            params.append(self.platform)
        if self.flagged is not None:
            # Uncorrelated: the open flags are found once and hash-joined (semi or anti join).
            clauses.append(f"c.id {'' if self.flagged else 'NOT '}IN ({_open_flags_sql()})")
        if self.search:
            clauses.append(
                "c.id IN (SELECT conversation_id FROM messages WHERE contains(lower(text), lower(?)))"
            )
            params.append(self.search)
        if self.emotion:
            clauses.append(
                # The newest scoring run per conversation, as the detail view shows it.
                "c.id IN (SELECT conversation_id FROM conversation_emotions GROUP BY conversation_id"
                " HAVING list_contains(arg_max(top_emotions, refreshed_at), ?))"
            )
            params.append(self.emotion)
        if self.since is not None:
            clauses.append("c.started_at >= ?")
            params.append(self.since)
        if self.until is not None:
            # A bare date means "through the end of that day".
            until = self.until
            if isinstance(until, date) and not isinstance(until, datetime):
                clauses.append("c.started_at < ? + INTERVAL 1 DAY")
            else:
                clauses.append("c.started_at <= ?")
            params.append(until)
        # Uncorrelated IN-subqueries, like `flagged`: each child table is filtered once and
        # semi-joined. They read only c.id, so they also run on the pre-sorted order tables.
        if self.criterion:
            clauses.append("c.id IN (SELECT conversation_id FROM flags WHERE criterion = ?)")
            params.append(self.criterion)
        if self.tag is not None:
            key, value = self.tag
            clauses.append("c.id IN (SELECT conversation_id FROM tags WHERE key = ? AND value = ?)")
            params.extend([key, value])
        if self.failed_function:
            clauses.append(
                "c.id IN (SELECT conversation_id FROM function_calls WHERE name = ? AND status = 'error')"
            )
            params.append(self.failed_function)
        if self.human is not None:
            humans = "SELECT conversation_id FROM messages WHERE role IN ('human_agent', 'supervisor')"
            clauses.append(f"c.id {'' if self.human else 'NOT '}IN ({humans})")  # noqa: S608 - fixed SQL
        if self.polarity:
            clauses.append(
                "c.id IN (SELECT conversation_id FROM conversation_emotions WHERE polarity = ? AND model_id ="
                " (SELECT model_id FROM emotion_runs ORDER BY finished_at DESC NULLS LAST LIMIT 1))"
            )
            params.append(self.polarity)
        return (" AND ".join(clauses) or "TRUE"), params


def _open_flags_sql(ids: str = "") -> str:
    """SQL selecting ``f.conversation_id`` of every open flag (alias ``f``), ready for more ``AND`` terms.

    A flag counts as open ("🚩") unless its newest QA decision (by ``decided_at``) dismissed
    it. ``ids`` (e.g. ``"IN (?, ?)"``) restricts both flags and decisions to some
    conversations, so a page reads only its own rows.
    """
    restrict_f = f"AND f.conversation_id {ids}" if ids else ""
    restrict_d = f"WHERE d.conversation_id {ids}" if ids else ""
    return f"""
        SELECT f.conversation_id FROM flags f
        WHERE NOT EXISTS (
            SELECT 1 FROM (
                SELECT d.conversation_id, d.criterion FROM flag_decisions d {restrict_d}
                QUALIFY rank() OVER (PARTITION BY d.conversation_id, d.criterion ORDER BY d.decided_at DESC) = 1
                    AND d.decision = 'dismissed'
            ) x WHERE x.conversation_id = f.conversation_id AND x.criterion = f.criterion
        ) {restrict_f}
    """  # noqa: S608 - ids is an IN-list of placeholders or a subquery, never data


class Workbench:
    """A conversation store opened for analysis and review.

    Use :func:`convolab.open` to get one. The workbench is a context manager;
    it closes its DuckDB connection on exit.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        in_memory = str(path) == ":memory:"
        if not in_memory and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(":memory:" if in_memory else str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise ConvolabError(f"cannot open store {self.path}: {_first_line(exc)}") from exc
        except duckdb.Error as exc:
            raise ConvolabError(f"{self.path} is not a convolab DuckDB store: {_first_line(exc)}") from exc
        if not read_only:
            schema.migrate(self.con)
        elif schema.current_version(self.con) < schema.SCHEMA_VERSION:
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

    def close(self) -> None:
        """Close the underlying DuckDB connection."""
        self.con.close()

    def cursor(self) -> Workbench:
        """A workbench on the same database for use from another thread.

        A DuckDB connection must not be used by two threads at once (one thread
        could read the other's result), so background work such as saving a
        finished live call runs on its own cursor. Close it when done.
        """
        other = object.__new__(Workbench)
        other.path = self.path
        other.read_only = self.read_only
        other.con = self.con.cursor()
        return other

    @property
    def schema_version(self) -> int:
        """The schema version of the open store."""
        return schema.current_version(self.con)

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a parameterised SQL query and return the result as a polars DataFrame.

        Examples
        --------
        >>> lab.sql("SELECT flow, count(*) AS n FROM conversations WHERE status = ? GROUP BY 1",
        ...         ["failed"])
        """
        return self.con.execute(query, params or []).pl()

    def execute(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Result:
        """Run one parameterised statement; the :class:`Result` fetches its rows.

        Domain modules (ingest, flags, emotions, audio, reports) keep their SQL beside
        their logic and run it through the store with this, so no module outside the
        store holds a DuckDB connection. Values always travel as ``params``.
        """
        return Result(self.con.execute(query, params or []))

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one parameterised statement once per row of ``rows``."""
        self.con.executemany(query, list(rows))

    @contextmanager
    def transaction(self) -> Iterator[Workbench]:
        """Run the block in one transaction: commit if it finishes, roll back if it raises."""
        with transaction(self.con):
            yield self

    @contextmanager
    def registered(self, name: str, table: Any) -> Iterator[str]:
        """Make an Arrow table (or polars/pandas frame) queryable as ``name`` inside the block."""
        self.con.register(name, table)
        try:
            yield name
        finally:
            self.con.unregister(name)

    # -- loading ----------------------------------------------------------------------

    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        /,
        *,
        format: str = "auto",  # noqa: A002
        mapping: dict[str, str] | None = None,
        progress: Any = None,
    ) -> LoadReport:
        """Load conversation files into the store (see :func:`convolab.ingest.ingest`)."""
        from convolab.ingest import ingest

        # The pre-sorted order tables of the conversations table are marked stale before the
        # load touches anything, so no page is ever served from an order table that predates
        # it (a failed load may have committed part of its files). Afterwards they are rebuilt
        # for a bulk load into a big store, restored when nothing changed, else left stale.
        fresh = self.con.execute("SELECT * FROM table_order_state").fetchall()
        self.con.execute("DELETE FROM table_order_state")
        report = ingest(self.con, paths, format=format, mapping=mapping, progress=progress)
        if report.loaded == 0 and fresh:
            self.con.executemany("INSERT INTO table_order_state VALUES (?, ?, ?, ?)", fresh)
        elif report.loaded > 0:
            total = self.con.execute("SELECT count(*) FROM conversations").fetchone()[0]
            if total >= _ORDERS_MIN_STORE and report.loaded >= _ORDERS_MIN_LOAD:
                self.refresh_table_orders()
        return report

    def refresh_table_orders(self) -> None:
        """Rebuild the pre-sorted order tables that conversations-table pages read (schema v6).

        A bulk :meth:`ingest` into a big store rebuilds them and :meth:`delete` keeps them
        fresh; smaller loads leave them stale, and pages then sort the store directly. Call
        this after such loads to make pages fast again, or after writing ``conversations``
        with plain SQL: a changed row count is noticed, but an in-place ``UPDATE`` of a sort
        or filter column is only seen after this call.
        """
        with transaction(self.con):
            for expression in schema.TABLE_ORDERS:
                for statement in schema.table_order_build(expression):
                    self.con.execute(statement)

    def list_rejected(self, *, limit: int | None = None) -> pl.DataFrame:
        """Records that could not be loaded: file, line, conversation id, reason, raw record."""
        query = "SELECT file, line, conversation_id, reason, record, rejected_at FROM rejected_records ORDER BY rejected_at DESC, file, line"
        if limit is not None:
            query += " LIMIT ?"
            return self.sql(query, [limit])
        return self.sql(query)

    # -- the conversations table --------------------------------------------------------

    def count_conversations(self, filters: ConversationFilter | None = None, **kwargs: Any) -> int:
        """How many conversations match the filters (same keywords as :class:`ConversationFilter`)."""
        where, params = (filters or ConversationFilter(**kwargs)).where()
        query = f"SELECT count(*) FROM conversations c WHERE {where}"  # noqa: S608 - values are bound
        return int(self.con.execute(query, params).fetchone()[0])

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
        ``flagged`` sorts by the number of open flags.

        Columns: id, flow, platform, contact, status, duration_s, last_message,
        date, flagged, functions (names, in call order), tags and parameters
        (lists of ``{key, value}`` structs, sorted by key).
        """
        filters = filters or ConversationFilter(**kwargs)
        try:
            order = _SORT_EXPRESSIONS[sort]
        except KeyError:
            raise ValueError(f"cannot sort by {sort!r}; choose one of {sorted(_SORT_EXPRESSIONS)}") from None
        where, params = filters.where()
        if limit is not None and order in schema.TABLE_ORDERS:
            page = self._ordered_page(order, descending, where, params, limit, offset)
            if page is not None:
                return page
        direction = "DESC" if descending else "ASC"
        # Only sorting by "flagged" needs the open-flag counts of every candidate row.
        join = (
            f"LEFT JOIN (SELECT conversation_id, count(*) AS open_flags FROM ({_open_flags_sql()}) o"  # noqa: S608
            " GROUP BY 1) fo ON fo.conversation_id = c.id"
            if sort == "flagged" else ""
        )
        # Step 1: the page itself, from `conversations` alone: filter, sort, limit (DuckDB's top-N,
        # which fetches the other columns of the surviving rows only).
        page_sql = f"""
            SELECT {_PAGE_COLUMNS}
            FROM conversations c {join} WHERE {where}
            ORDER BY {order} {direction} NULLS LAST, c.id {direction}
        """  # noqa: S608 - sort and filters come from fixed maps; values are bound
        if limit is not None:
            page_sql += " LIMIT ? OFFSET ?"
            params = [*params, limit, offset]
        page = self.con.execute(page_sql, params).pl()
        # Step 2: the open flags of those ids only.
        return self._finish_page(page)

    def _ordered_page(
        self, order: str, descending: bool, where: str, params: list[Any], limit: int, offset: int
    ) -> pl.DataFrame | None:
        """The page read from the pre-sorted order table of ``order``; ``None`` if it is stale.

        All reads run in one transaction, so the order table, its freshness check and the
        rows looked up agree. An order table whose recorded conversation count differs from
        the store's (or that an ingest marked stale) is not used: the caller sorts the store
        itself.
        """
        name = schema.TABLE_ORDERS[order]
        try:
            self.con.execute("BEGIN TRANSACTION")
        except duckdb.TransactionException:  # the caller's own transaction: read within it
            return self._ordered_page_in(name, descending, where, params, limit, offset)
        try:
            page = self._ordered_page_in(name, descending, where, params, limit, offset)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return page

    def _ordered_page_in(
        self, name: str, descending: bool, where: str, params: list[Any], limit: int, offset: int
    ) -> pl.DataFrame | None:
        state_sql = (
            "SELECT s.last_pos FROM table_order_state s WHERE s.name = ?"
            " AND s.conversations = (SELECT count(*) FROM conversations)"
        )
        state = self.con.execute(state_sql, [name]).fetchone()
        if state is None:
            # Stale: sorting the store directly is correct and costs far less than a rebuild.
            return None
        last_pos = int(state[0])
        pos = "c.desc_pos" if descending else "c.asc_pos"
        # The first `window` positions in page order, filtered; too few matches -> a 4x wider
        # window, so a rare filter costs at most ~4/3 of one full scan of the order table.
        page_sql = f"""
            SELECT c.id FROM {name} c WHERE {pos} <= ? AND {where} ORDER BY {pos} LIMIT ? OFFSET ?
        """  # noqa: S608 - table and column from fixed maps; values are bound
        window = max(_FIRST_WINDOW, 8 * (offset + limit))
        while True:
            ids = [r[0] for r in self.con.execute(page_sql, [window, *params, limit, offset]).fetchall()]
            if len(ids) == limit or window >= last_pos:
                break
            window *= 4
        ids_sql = ", ".join("?" for _ in ids) or "NULL"
        rows = self.con.execute(
            f"SELECT {_PAGE_COLUMNS} FROM conversations c WHERE c.id IN ({ids_sql})", ids  # noqa: S608
        ).pl()
        page = pl.DataFrame({"id": ids}, schema={"id": pl.String}).join(rows, on="id", how="left",
                                                                          maintain_order="left")
        return self._finish_page(page)

    def _finish_page(self, page: pl.DataFrame) -> pl.DataFrame:
        """``page`` (rows of :data:`_PAGE_COLUMNS`) with its ``flagged`` column, in TABLE_KEYS order."""
        decoded = [pl.col(name).str.json_decode(dtype) for name, dtype in _PAGE_SUMMARIES.items()]
        return page.with_columns(self._flagged(page["id"].to_list()), *decoded).select(TABLE_KEYS)

    def _flagged(self, ids: list[str]) -> pl.Series:
        """Whether each of ``ids`` has an open flag (🚩), in that order."""
        if len(ids) > _IN_LIST_MAX:
            # Long listings (``limit=None``, exports): one bound list, joined set-based.
            query = f"""
                WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS id)
                SELECT DISTINCT conversation_id FROM ({_open_flags_sql("IN (SELECT id FROM wanted)")})
            """  # noqa: S608 - fixed SQL fragments; the ids are one bound list
            params: list[Any] = [ids]
        else:
            # A constant IN-list, answered from the flags tables' conversation_id lookups,
            # so the cost follows the page, not the store.
            ids_sql = f"IN ({', '.join('?' for _ in ids) or 'NULL'})"
            query = f"SELECT DISTINCT conversation_id FROM ({_open_flags_sql(ids_sql)})"  # noqa: S608
            params = list(ids) * 2  # decisions, then flags
        flagged = {row[0] for row in self.con.execute(query, params).fetchall()}
        return pl.Series("flagged", [cid in flagged for cid in ids], dtype=pl.Boolean)

    # -- one conversation -----------------------------------------------------------------

    def _require(self, conversation_id: str) -> dict[str, Any]:
        row = self.con.execute("SELECT * FROM conversations WHERE id = ?", [conversation_id]).fetchone()
        if row is None:
            raise ConversationNotFound(conversation_id)
        names = [d[0] for d in self.con.description]
        return dict(zip(names, row, strict=True))

    def transcript(self, conversation_id: str) -> pl.DataFrame:
        """The messages of one conversation in order: seq, role, text, sent_at."""
        self._require(conversation_id)
        return self.sql(
            "SELECT seq, role, text, sent_at FROM messages WHERE conversation_id = ? ORDER BY seq",
            [conversation_id],
        )

    def functions(self, conversation_id: str) -> pl.DataFrame:
        """The function calls of one conversation: seq, name, arguments, output, status, called_at."""
        self._require(conversation_id)
        return self.sql(
            "SELECT seq, name, arguments, output, status, called_at FROM function_calls"
            " WHERE conversation_id = ? ORDER BY seq",
            [conversation_id],
        )

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """Everything the detail view shows, with keys in the contract's order.

        Keys: id, flow, contact, then platform, contact_id, status, tags,
        sentiment, duration_s, started_at, ended_at, review_flags, summary,
        analysis (the contract's detail fields), then transcript, functions,
        parameters and recording.
        """
        c = self._require(conversation_id)
        tags = dict(self.con.execute(
            "SELECT key, value FROM tags WHERE conversation_id = ? ORDER BY key", [conversation_id]
        ).fetchall())
        parameters = dict(self.con.execute(
            "SELECT key, value FROM parameters WHERE conversation_id = ? ORDER BY key", [conversation_id]
        ).fetchall())
        transcript = self.transcript(conversation_id).to_dicts()
        functions = [
            {**f, "arguments": _loads(f["arguments"]), "output": _loads(f["output"])}
            for f in self.functions(conversation_id).to_dicts()
        ]
        return {
            "id": c["id"],
            "flow": c["flow"],
            "contact": c["contact"],
            "platform": c["platform"],
            "platform_icon": PLATFORM_ICONS.get(c["platform"] or "", ""),
            "contact_id": c["contact_id"],
            "status": c["status"],
            "tags": tags,
            "sentiment": self._sentiment(conversation_id),
            "duration_s": c["duration_s"],
            "started_at": c["started_at"],
            "ended_at": c["ended_at"],
            "review_flags": self.list_flags(conversation_id=conversation_id).to_dicts(),
            "summary": c["summary"],
            "analysis": c["analysis"],
            "transcript": transcript,
            "functions": functions,
            "parameters": parameters,
            "recording": c["recording"],
        }

    def _sentiment(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's emotion summary from the newest scoring run, if it was scored."""
        rows = self.con.execute(
            "SELECT * FROM conversation_emotions WHERE conversation_id = ? ORDER BY refreshed_at DESC LIMIT 1",
            [conversation_id],
        ) if _has_table(self.con, "conversation_emotions") else None
        row = rows.fetchone() if rows is not None else None
        if row is None:
            return None
        return dict(zip([d[0] for d in rows.description], row, strict=True))

    def list_flags(self, *, conversation_id: str | None = None, criterion: str | None = None) -> pl.DataFrame:
        """Review flags with their newest QA decision (if any)."""
        clauses, params = [], []
        if conversation_id is not None:
            clauses.append("f.conversation_id = ?")
            params.append(conversation_id)
        if criterion is not None:
            clauses.append("f.criterion = ?")
            params.append(criterion)
        where = " AND ".join(clauses) or "TRUE"
        return self.sql(
            f"""
            SELECT f.flag_id, f.conversation_id, f.criterion, f.severity, f.reason, f.evidence,
                   f.criteria_version, f.source, f.created_at,
                   d.decision, d.reviewer, d.note, d.decided_at
            FROM flags f
            LEFT JOIN (
                SELECT * FROM flag_decisions
                QUALIFY row_number() OVER (PARTITION BY conversation_id, criterion ORDER BY decided_at DESC) = 1
            ) d ON d.conversation_id = f.conversation_id AND d.criterion = f.criterion
            WHERE {where}
            ORDER BY f.created_at DESC, f.conversation_id, f.criterion
            """,  # noqa: S608 - `where` joins fixed clauses; the values are bound params
            params,
        )

    def export(self, conversation_id: str, format: str = "txt") -> bytes:  # noqa: A002
        """The conversation's transcript as ``txt``, ``json`` or ``csv`` bytes (see :mod:`convolab.export`)."""
        from convolab.export import export_conversation

        return export_conversation(self.conversation(conversation_id), format)

    def delete(self, conversation_id: str, *, actor: str | None = None) -> dict[str, int]:
        """Delete a conversation and every row derived from it; audit who did it.

        Every table with a ``conversation_id`` column is cleared for that id, so
        tables added by later schema versions are covered without listing them.
        Returns the number of rows removed per table.
        """
        c = self._require(conversation_id)
        tables = [
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT table_name FROM information_schema.columns"
                " WHERE column_name = 'conversation_id' AND table_schema = 'main'"
                " AND table_name NOT IN (SELECT view_name FROM duckdb_views())"
                " AND table_name != 'rejected_records' ORDER BY 1"
            ).fetchall()
        ]
        removed: dict[str, int] = {}
        with transaction(self.con):
            for table in tables:  # names come from the catalogue, not from the caller
                n = self.con.execute(
                    f'DELETE FROM "{table}" WHERE conversation_id = ?',  # noqa: S608 - catalogue names
                    [conversation_id],
                ).fetchone()[0]
                removed[table] = int(n)
            self.con.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
            removed["conversations"] = 1
            # The order tables stay sorted without the row (positions may have gaps); a stale
            # one stays stale, as its recorded count keeps the same distance from the store's.
            for name in schema.TABLE_ORDERS.values():  # fixed names
                self.con.execute(f"DELETE FROM {name} WHERE id = ?", [conversation_id])  # noqa: S608
            self.con.execute("UPDATE table_order_state SET conversations = conversations - 1")
            self._audit(
                "delete_conversation",
                target=conversation_id,
                details={"flow": c["flow"], "started_at": c["started_at"], "rows_removed": removed},
                actor=actor,
                result="deleted",
            )
        return removed

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
        self._audit(action, target=target, details=details, actor=actor, result=result)

    def _audit(self, action: str, *, target: str | None, details: dict[str, Any] | None,
               actor: str | None, result: str | None) -> None:
        self.con.execute(
            "INSERT INTO audit_log (occurred_at, actor, action, target, details, result)"
            " VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?)",
            [actor or current_actor(), action, target, json.dumps(details or {}, default=str), result],
        )

    def list_audit(self, *, target: str | None = None, limit: int = 100) -> pl.DataFrame:
        """The newest audit-log entries, optionally for one conversation or call."""
        if target is None:
            return self.sql("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit])
        return self.sql("SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?", [target, limit])


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


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()[0])


def _loads(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
