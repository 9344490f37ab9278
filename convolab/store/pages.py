"""Pages of the conversations table: filters, sorting, paging, and the order tables behind them.

All queries are parameterised; sort keys and filters map onto a fixed set of SQL
expressions, so no caller text ever becomes SQL. A page is picked from
``conversations`` alone (a top-N scan, or a pre-sorted order table, schema v6);
each row's functions, tags and parameters come from its JSON summary columns
(schema v7) and only the page's own open flags are looked up, so no child table
is read for a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from convolab.conversations import STATUS_ALIASES
from convolab.errors import InvalidArgument
from convolab.store import schema
from convolab.store._connection import rollback, transaction
from convolab.store.reviews import open_flags_sql

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["SORT_KEYS", "TABLE_KEYS", "ConversationFilter", "count_conversations", "list_conversations",
           "list_flows", "refresh_table_orders"]

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
SORT_KEYS = tuple(_SORT_EXPRESSIONS)

# The first window of an order-table page scan, in positions (see _ordered_page).
_FIRST_WINDOW = 4096

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


def _texts(name: str, value: Any) -> list[str] | None:
    """A text filter value as a list of strings (``None``: no filter); anything else is refused."""
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in values):
        raise InvalidArgument(f"{name} must be a string or a list of strings, got {value!r}")
    return list(values)


def _text(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, got {value!r}")
    return value


def _moment(name: str, value: Any) -> datetime | date | None:
    """A datetime, a date, or an ISO-8601 string (as the CLI passes it)."""
    if value is None or value == "":
        return None
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidArgument(f"{name} must be a date or datetime (ISO-8601 text is fine), got {value!r}")


@dataclass(frozen=True)
class ConversationFilter:
    """Filters shared by the table widget, the CLI and :meth:`Workbench.list_conversations`.

    Every value is checked on construction (a wrong type is an
    :class:`~convolab.errors.InvalidArgument`, not a database error) and bound as a
    query parameter; ``None`` means "no filter".
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

    def __post_init__(self) -> None:
        _texts("status", self.status)
        _texts("flow", self.flow)
        _text("platform", self.platform)
        _text("search", self.search)
        _text("emotion", self.emotion)
        _text("criterion", self.criterion)
        _text("failed_function", self.failed_function)
        _text("polarity", self.polarity)
        for name in ("flagged", "human"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InvalidArgument(f"{name} must be True, False or None, got {value!r}")
        if self.tag is not None and not (isinstance(self.tag, (tuple, list)) and len(self.tag) == 2
                                         and all(isinstance(v, str) for v in self.tag)):
            raise InvalidArgument(f"tag must be a (key, value) pair of strings, got {self.tag!r}")
        for name in ("since", "until"):
            object.__setattr__(self, name, _moment(name, getattr(self, name)))

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL WHERE clause (over alias ``c``) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column in ("status", "flow"):
            values = _texts(column, getattr(self, column))
            if values is None:
                continue
            if column == "status":
                values = [STATUS_ALIASES.get(v, v) for v in values]
            clauses.append(f"c.{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
        if self.platform:
            clauses.append("c.platform = ?")
            params.append(self.platform)
        if self.flagged is not None:
            # Uncorrelated: the open flags are found once and hash-joined (semi or anti join).
            clauses.append(f"c.id {'' if self.flagged else 'NOT '}IN ({open_flags_sql()})")
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


def _page_args(sort: Any, descending: Any, limit: Any, offset: Any) -> str:
    if not isinstance(sort, str) or sort not in _SORT_EXPRESSIONS:
        raise InvalidArgument(f"cannot sort by {sort!r}; choose one of {', '.join(sorted(_SORT_EXPRESSIONS))}")
    if not isinstance(descending, bool):
        raise InvalidArgument(f"descending must be True or False, got {descending!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidArgument(f"limit must be a whole number >= 0 or None, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidArgument(f"offset must be a whole number >= 0, got {offset!r}")
    return _SORT_EXPRESSIONS[sort]


def count_conversations(store: Workbench, filters: ConversationFilter) -> int:
    """How many conversations match ``filters``."""
    where, params = filters.where()
    query = f"SELECT count(*) FROM conversations c WHERE {where}"  # noqa: S608 - values are bound
    return int(store.execute(query, params).scalar())


def list_conversations(store: Workbench, filters: ConversationFilter, *, sort: str = "date",
                       descending: bool = True, limit: int | None = 50, offset: int = 0) -> pl.DataFrame:
    """One page of the conversations table (see :meth:`Workbench.list_conversations`)."""
    order = _page_args(sort, descending, limit, offset)
    where, params = filters.where()
    if limit is not None and store.lake is None and order in schema.TABLE_ORDERS:
        page = _ordered_page(store, order, descending, where, params, limit, offset)
        if page is not None:
            return page
    direction = "DESC" if descending else "ASC"
    # Only sorting by "flagged" needs the open-flag counts of every candidate row.
    join = (
        f"LEFT JOIN (SELECT conversation_id, count(*) AS open_flags FROM ({open_flags_sql()}) o"  # noqa: S608
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
    page = store._run(page_sql, params).pl()
    # Step 2: the open flags of those ids only.
    return _finish_page(store, page)


def _ordered_page(store: Workbench, order: str, descending: bool, where: str, params: list[Any],
                  limit: int, offset: int) -> pl.DataFrame | None:
    """The page read from the pre-sorted order table of ``order``; ``None`` if it is stale.

    All reads run in one transaction, so the order table, its freshness check and the
    rows looked up agree. An order table whose recorded conversation count differs from
    the store's (or that an ingest marked stale) is not used: the caller sorts the store
    itself.
    """
    name = schema.TABLE_ORDERS[order]
    con = store._con
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:  # the caller's own transaction: read within it
        return _ordered_page_in(store, name, descending, where, params, limit, offset)
    try:
        page = _ordered_page_in(store, name, descending, where, params, limit, offset)
    except BaseException:
        rollback(con)
        raise
    con.execute("COMMIT")
    return page


def _ordered_page_in(store: Workbench, name: str, descending: bool, where: str, params: list[Any],
                     limit: int, offset: int) -> pl.DataFrame | None:
    con = store._con
    state_sql = (
        "SELECT s.last_pos FROM table_order_state s WHERE s.name = ?"
        " AND s.conversations = (SELECT count(*) FROM conversations)"
    )
    state = con.execute(state_sql, [name]).fetchone()
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
        ids = [r[0] for r in con.execute(page_sql, [window, *params, limit, offset]).fetchall()]
        if len(ids) == limit or window >= last_pos:
            break
        window *= 4
    ids_sql = ", ".join("?" for _ in ids) or "NULL"
    rows = con.execute(
        f"SELECT {_PAGE_COLUMNS} FROM conversations c WHERE c.id IN ({ids_sql})", ids  # noqa: S608
    ).pl()
    page = pl.DataFrame({"id": ids}, schema={"id": pl.String}).join(rows, on="id", how="left",
                                                                      maintain_order="left")
    return _finish_page(store, page)


def _finish_page(store: Workbench, page: pl.DataFrame) -> pl.DataFrame:
    """``page`` (rows of :data:`_PAGE_COLUMNS`) with its ``flagged`` column, in TABLE_KEYS order."""
    decoded = [pl.col(name).str.json_decode(dtype) for name, dtype in _PAGE_SUMMARIES.items()]
    return page.with_columns(_flagged(store, page["id"].to_list()), *decoded).select(TABLE_KEYS)


def _flagged(store: Workbench, ids: list[str]) -> pl.Series:
    """Whether each of ``ids`` has an open flag (🚩), in that order."""
    if len(ids) > _IN_LIST_MAX:
        # Long listings (``limit=None``, exports): one bound list, joined set-based.
        query = f"""
            WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS id)
            SELECT DISTINCT conversation_id FROM ({open_flags_sql("IN (SELECT id FROM wanted)")})
        """  # noqa: S608 - fixed SQL fragments; the ids are one bound list
        params: list[Any] = [ids]
    else:
        # A constant IN-list, answered from the flags tables' conversation_id lookups,
        # so the cost follows the page, not the store.
        ids_sql = f"IN ({', '.join('?' for _ in ids) or 'NULL'})"
        query = f"SELECT DISTINCT conversation_id FROM ({open_flags_sql(ids_sql)})"  # noqa: S608
        params = list(ids) * 2  # decisions, then flags
    flagged = {row[0] for row in store._run(query, params).fetchall()}
    return pl.Series("flagged", [cid in flagged for cid in ids], dtype=pl.Boolean)


def refresh_table_orders(store: Workbench) -> None:
    """Rebuild the pre-sorted order tables that pages read (see :meth:`Workbench.refresh_table_orders`)."""
    with transaction(store._con):
        for expression in schema.TABLE_ORDERS:
            for statement in schema.table_order_build(expression):
                store._run(statement)


def list_flows(store: Workbench) -> list[str]:
    """The distinct flows in the store, sorted (for filter pickers)."""
    rows = store._run(
        "SELECT DISTINCT flow FROM conversations WHERE flow IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]
