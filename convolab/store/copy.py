"""Moving a store between backends: every table of one store copied into another.

``convolab migrate --from DB --to DB`` runs :func:`copy_store`: a DuckDB file into a
team store when a team forms, a team store into a file to take it away, or a file
into a new file. The target is brought to the current schema first; the copy runs
in one transaction on the target, so a failed copy leaves it as it was.

Ids: a team store's ids are 63-bit time-ordered numbers, a file store's come from
sequences. Copied into a file, a lake's ids are renumbered 1, 2, ... in their own
order (flag decisions and rejected records follow their flag and load), and the
file's sequences continue after them; copied into a lake, ids stay as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from convolab.errors import ConvolabError
from convolab.store import schema
from convolab.store.lake import LakeLocation, is_lake, store_exists

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["copy_store"]

# Tables with ids from a sequence in a file store -> (id column, sequence).
_IDS = {"flags": ("flag_id", "flag_seq"), "audit_log": ("id", "audit_seq"), "loads": ("load_id", "load_seq"),
        "coaching_notes": ("id", "coaching_seq")}
# Columns that refer to those ids: table -> (column, the table it refers to).
_REFERENCES = {"flag_decisions": ("flag_id", "flags"), "rejected_records": ("load_id", "loads")}
# Bookkeeping that is per backend, not data: never copied.
_NOT_COPIED = {"schema_info", "table_order_state", *schema.TABLE_ORDERS.values(), *schema.WRITE_TOKENS.values()}
# Ids below this came from a sequence; above it, from a lake's clock.
_SEQUENCE_RANGE = 1 << 40
_BATCH_ROWS = 200_000


def _tables(store: Workbench) -> list[str]:
    rows = store.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in _NOT_COPIED]


def _rows(store: Workbench, table: str) -> int:
    return int(store.execute(f'SELECT count(*) FROM "{table}"').scalar())  # noqa: S608 - catalogue names


def _source_query(table: str, renumber: bool) -> str:
    """The SELECT that reads ``table`` from the source (renumbering lake ids for a file target)."""
    if renumber and table in _IDS:
        column = _IDS[table][0]
        return f'SELECT * REPLACE (row_number() OVER (ORDER BY "{column}") AS "{column}") FROM "{table}"'  # noqa: S608
    if renumber and table in _REFERENCES:
        column, parent = _REFERENCES[table]
        parent_id = _IDS[parent][0]
        return (
            f'SELECT r.* REPLACE (m.new_id AS "{column}") FROM "{table}" r LEFT JOIN'  # noqa: S608 - fixed maps
            f' (SELECT "{parent_id}" AS old_id, row_number() OVER (ORDER BY "{parent_id}") AS new_id FROM "{parent}") m'
            f' ON m.old_id = r."{column}"'
        )
    return f'SELECT * FROM "{table}"'  # noqa: S608


def copy_store(source: str | os.PathLike[str], target: str | os.PathLike[str], *,
               force: bool = False) -> dict[str, int]:
    """Copy every conversation, flag, decision, audit entry, score and live call of one store into another.

    Parameters
    ----------
    source, target
        Store locations as :func:`convolab.open` takes them (a file, ``ducklake:...``).
    force
        Replace what the target already holds; without it a non-empty target is refused.

    Returns
    -------
    dict
        Rows copied per table (equal to the source's counts).

    Raises
    ------
    ConvolabError
        The source does not exist, source and target are the same, or the target holds
        data and ``force`` is not given.
    """
    from convolab.store.workbench import Workbench

    source, target = os.fspath(source), os.fspath(target)
    if not store_exists(source):
        raise ConvolabError(f"no store at {source}")
    if _canonical(source) == _canonical(target):
        raise ConvolabError("source and target are the same store")
    with Workbench(source, read_only=True) as src:
        with Workbench(target) as dst:
            tables = [t for t in _tables(src) if t in set(_tables(dst))]
            held = {t: _rows(dst, t) for t in tables}
            if any(held.values()) and not force:
                filled = ", ".join(f"{t} ({n:,})" for t, n in held.items() if n)
                raise ConvolabError(f"the target store {dst.path} is not empty: {filled}; add --force to replace it")
            renumber = dst.lake is None and src.lake is not None
            counts = {t: _rows(src, t) for t in tables}

            def copy() -> None:
                with dst.transaction():
                    for table in tables:
                        if held[table]:
                            dst.execute(f'DELETE FROM "{table}"')  # noqa: S608 - catalogue names
                        reader = src.execute(_source_query(table, renumber))._cursor.to_arrow_reader(_BATCH_ROWS)
                        for batch in reader:
                            with dst.registered("convolab_copy_batch", batch):
                                dst.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM convolab_copy_batch')  # noqa: S608

            dst.retrying(copy)
            if dst.lake is None:
                _continue_sequences(dst)
                dst.refresh_table_orders()
            copied = {t: _rows(dst, t) for t in tables}
    if copied != counts:
        raise ConvolabError(f"copy incomplete: source {counts}, target {copied}")
    return copied


def _canonical(location: str) -> str:
    if is_lake(location):
        lake = LakeLocation.parse(location)
        return f"{lake.kind}:{lake.catalog}"
    return str(Path(location).absolute())


def _continue_sequences(store: Workbench) -> None:
    """Advance a file store's sequences past the ids it now holds (DuckDB has no setval)."""
    for table, (column, sequence) in _IDS.items():
        top = int(store.execute(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"').scalar())  # noqa: S608
        if top >= _SEQUENCE_RANGE:  # a lake's ids copied into a file would have been renumbered
            raise ConvolabError(f"{table}.{column} holds ids a sequence cannot continue")
        current = int(store.execute(f"SELECT nextval('{sequence}')").scalar())
        if current < top:
            store.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [top - current])  # noqa: S608 - fixed names
