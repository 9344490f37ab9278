"""The team backend: a store in DuckLake, DuckDB's lakehouse format.

A team store keeps its catalog in SQLite (one server) or PostgreSQL (several
machines) and its data as Parquet files in a folder. Any number of processes
open it at once: each statement reads the newest committed snapshot, readers
never wait for writers, and a commit that collides with another is retried.

Locations (``convolab.open``, ``--db``, ``CONVOLAB_DB``)::

    ducklake:sqlite:/srv/convolab/catalog.sqlite            data in /srv/convolab/catalog.sqlite.files/
    ducklake:sqlite:/srv/convolab/catalog.sqlite?data=/srv/lake
    ducklake:postgres:dbname=convolab host=db.internal?data=/shared/convolab-lake

The data folder is the ``?data=PATH`` suffix, else ``$CONVOLAB_LAKE_DATA``, else
(SQLite) the catalog's path with ``.files`` appended. DuckLake records it in the
catalog when the store is created, so later opens need not repeat it.

DuckDB's extensions for this (``ducklake``, ``sqlite_scanner``,
``postgres_scanner``) come from the ``duckdb-extension-*`` packages of the
``convolab[team]`` extra and are loaded from their files, never downloaded;
DuckDB checks their signatures.

Writers on a SQLite catalog take turns through a lock file beside it
(``PATH.lock``): SQLite refuses a commit whose transaction started before
another writer's commit ("database is locked"), which DuckLake does not retry.
The catalog runs in WAL mode, so readers never wait. On PostgreSQL, writers run
at once and DuckLake settles colliding commits itself; a logical conflict (two
transactions deleting from the same table, say) surfaces as an error that
:meth:`Workbench.retrying` answers by running the whole transaction again.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from convolab import settings
from convolab.errors import ConvolabError

__all__ = ["LAKE_PREFIX", "LakeLocation", "WriterLock", "connect_lake", "detach", "is_conflict", "is_lake",
           "prepare_cursor", "store_exists"]

LAKE_PREFIX = "ducklake:"
#: The lakes a process opens are attached as store_1, store_2, ... (their DuckLake metadata
#: as ``__ducklake_metadata_store_1`` ...); each store's connections use theirs by default.
CATALOG = "store"
_DATA_OPTION = "?data="

# Ids that a sequence gives in a file store come, in a lake, from a per-connection sequence
# on top of the transaction's start time: (microseconds since 2020-01-01) * 4096 + n. They
# grow with time (the audit log sorts by id), never repeat within a process, and two
# processes collide only if one's n-th id lands exactly on the other's clock tick. 63 bits
# last until 2091.
_ID_EPOCH_US = 1_577_836_800_000_000
_ID_SETUP = (
    "CREATE TEMP SEQUENCE IF NOT EXISTS convolab_ids START WITH {start}",
    f"CREATE OR REPLACE TEMP MACRO convolab_new_id() AS"
    f" ((epoch_us(now()) - {_ID_EPOCH_US}) << 12) + nextval('convolab_ids')",
)

# DuckLake's own commit retries (for commits that merely raced another one): more and
# quicker than its defaults (10 tries, 100 ms apart), since review clicks are small.
_RETRY_SETTINGS = (
    "SET ducklake_max_retry_count = 30",
    "SET ducklake_retry_wait_ms = 20",
    "SET ducklake_retry_backoff = 1.5",
    # DuckDB draws a progress bar on stdout for statements over 2 s: never in the middle of
    # a command's --json output or a notebook cell.
    "SET enable_progress_bar = false",
)

# Messages that mean "another transaction got there first; run it again".
_CONFLICT = re.compile(
    r"transaction conflict|database is locked|database table is locked|could not serialize"
    r"|concurrent update|deadlock detected|exceeded the maximum retry count",
    re.IGNORECASE,
)


def is_lake(location: object) -> bool:
    """Whether ``location`` names a team store (``ducklake:...``)."""
    return isinstance(location, str) and location.startswith(LAKE_PREFIX)


def store_exists(location: str | os.PathLike[str]) -> bool:
    """Whether a store is already at ``location`` (a PostgreSQL catalog is taken to exist)."""
    if not is_lake(location):
        return Path(location).exists()
    lake = LakeLocation.parse(str(location))
    return lake.kind != "sqlite" or Path(lake.catalog).exists()


def is_conflict(exc: BaseException) -> bool:
    """Whether a database error is a write conflict that running the transaction again resolves."""
    return isinstance(exc, duckdb.Error) and bool(_CONFLICT.search(str(exc)))


@dataclass(frozen=True)
class LakeLocation:
    """A parsed ``ducklake:`` location."""

    kind: str                 # sqlite | postgres
    catalog: str              # the SQLite file, or the PostgreSQL connection string
    data_path: str | None     # where the Parquet files go (None: what the catalog recorded)

    @classmethod
    def parse(cls, text: str) -> LakeLocation:
        """Parse ``ducklake:sqlite:PATH[?data=DIR]`` or ``ducklake:postgres:CONNINFO[?data=DIR]``."""
        if not is_lake(text):
            raise ConvolabError(f"{text!r} is not a team store location (ducklake:sqlite:PATH or"
                                " ducklake:postgres:CONNINFO)")
        rest = text[len(LAKE_PREFIX):]
        kind, sep, catalog = rest.partition(":")
        if not sep or kind not in ("sqlite", "postgres"):
            raise ConvolabError(f"unknown team store {_mask(text)!r}: use ducklake:sqlite:PATH or"
                                " ducklake:postgres:CONNINFO")
        data = None
        if _DATA_OPTION in catalog:
            catalog, _, data = catalog.rpartition(_DATA_OPTION)
            if not data.strip():
                raise ConvolabError(f"{_mask(text)!r}: ?data= needs a folder")
        data = data or settings.current().lake_data
        catalog = catalog.strip()
        if not catalog:
            raise ConvolabError(f"{_mask(text)!r} names no catalog")
        if kind == "sqlite":
            catalog = str(Path(catalog).expanduser().absolute())
            if data is None and not Path(catalog).exists():
                data = catalog + ".files"
        if data is not None:
            data = str(Path(data).expanduser().absolute())
        return cls(kind, catalog, data)

    def __str__(self) -> str:
        shown = f"{LAKE_PREFIX}{self.kind}:{_mask(self.catalog)}"
        return shown + (f"{_DATA_OPTION}{self.data_path}" if self.data_path else "")


def _mask(text: str) -> str:
    """A location fit to show: a PostgreSQL password never appears in a message or repr."""
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def _quote(text: str) -> str:
    """A SQL string literal (ATTACH takes no parameters); the location is the operator's own setting."""
    return "'" + text.replace("'", "''") + "'"


# -- the extensions, from the installed packages ----------------------------------------------

# package -> (its file's name, the name DuckDB derives the entry point from)
_EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake", "ducklake"),
    "sqlite": ("duckdb_extension_sqlite", "sqlite", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres", "postgres_scanner"),
}
_link_lock = threading.Lock()


def _extension_file(name: str) -> str:
    """The path of one extension's file inside its installed package, under the name DuckDB loads it by.

    DuckDB finds an extension's entry point from its file name (``sqlite_scanner_init``),
    but the packages ship ``sqlite.duckdb_extension``: those get a link of the right name
    in a private folder of this user's. The file itself (and its signature) is unchanged.
    """
    package, file_name, entry = _EXTENSIONS[name]
    from convolab._deps import require

    require(package)
    spec = importlib.util.find_spec(package)
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path = folder / f"{file_name}.duckdb_extension"
    if not path.is_file():
        built = sorted(p.name for p in folder.parent.glob("v*")) or ["none"]
        raise ConvolabError(
            f"{package} has no extension for DuckDB {duckdb.__version__} (it has {', '.join(built)});"
            " install the versions pinned by convolab: pip install 'convolab[team]'")
    if file_name == entry:
        return str(path)
    links = Path(tempfile.gettempdir()) / f"convolab-duckdb-extensions-{os.getuid()}" / f"v{duckdb.__version__}"
    link = links / f"{entry}.duckdb_extension"
    with _link_lock:
        links.mkdir(mode=0o700, parents=True, exist_ok=True)
        if links.parent.stat().st_uid != os.getuid() or links.parent.is_symlink():
            raise ConvolabError(f"{links.parent} belongs to another user; set TMPDIR to a folder of yours")
        if not (link.is_symlink() and os.readlink(link) == str(path)):
            temporary = links / f".{entry}.{secrets.token_hex(4)}"
            temporary.symlink_to(path)
            os.replace(temporary, link)
    return str(link)


# -- connecting ---------------------------------------------------------------------------------


def _sqlite_wal(catalog: str) -> None:
    """Put a SQLite catalog in WAL mode (persistent in the file), creating the file if needed.

    In WAL mode a reader never waits for a writer's commit, nor holds one up.
    """
    Path(catalog).parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(catalog, timeout=10)
    except sqlite3.Error as exc:
        raise ConvolabError(f"cannot open the SQLite catalog {catalog}: {exc}") from exc
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error:
        # In use by another process right now (switching needs it alone): it still works,
        # only readers may then wait for a commit; the next lone open switches it.
        pass
    finally:
        db.close()


# One in-memory DuckDB instance per process holds every lake this process opens, each
# attached under its own name: loading the extensions (DuckDB checks the signature of about
# 70 MB of code) costs about a second, so it is done once, not per store or cursor. A forked
# child starts its own (a DuckDB instance must not cross a fork).
_instance: duckdb.DuckDBPyConnection | None = None
_instance_pid = 0
_instance_lock = threading.Lock()
_loaded: set[str] = set()
_attached = 0


def _shared_instance(kind: str) -> duckdb.DuckDBPyConnection:
    global _instance, _instance_pid
    if _instance is None or _instance_pid != os.getpid():
        _instance = duckdb.connect(":memory:", config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
        })
        _instance_pid = os.getpid()
        _loaded.clear()
    for name in ("ducklake", kind):
        if name not in _loaded:
            _instance.execute(f"LOAD {_quote(_extension_file(name))}")
            _loaded.add(name)
    return _instance


def connect_lake(location: LakeLocation, *, read_only: bool = False) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection whose default catalog is the lake, and the name the lake is attached under.

    Temporary tables stay in the connection's own memory. Extensions load from the
    installed packages with automatic installing and loading switched off, so nothing
    is ever fetched from the network. Close the connection, then :func:`detach` the name.
    """
    global _attached
    if location.kind == "sqlite":
        if read_only and not Path(location.catalog).exists():
            raise ConvolabError(f"{location}: no such team store")
        if not read_only:
            _sqlite_wal(location.catalog)
        target = f"ducklake:sqlite:{location.catalog}"
    else:
        target = f"ducklake:postgres:{location.catalog}"
    options = []
    if location.data_path:
        if not read_only:
            Path(location.data_path).mkdir(parents=True, exist_ok=True)
        options.append(f"DATA_PATH {_quote(location.data_path.rstrip('/') + '/')}")
    if read_only:
        options.append("READ_ONLY")
    suffix = f" ({', '.join(options)})" if options else ""
    with _instance_lock:
        instance = _shared_instance(location.kind)
        _attached += 1
        name = f"{CATALOG}_{_attached}"
        try:
            instance.execute(f"ATTACH {_quote(target)} AS {name}{suffix}")
        except duckdb.Error as exc:
            raise ConvolabError(f"cannot open team store {location}: {_mask(_first_line(exc))}") from None
        con = instance.cursor()
    try:
        for statement in _RETRY_SETTINGS:
            con.execute(statement)
        prepare_cursor(con, name)
    except BaseException:
        con.close()
        detach(name)
        raise
    return con, name


def detach(name: str) -> None:
    """Detach a lake :func:`connect_lake` attached (its connections closed first)."""
    with _instance_lock:
        if _instance is not None and _instance_pid == os.getpid():
            try:
                _instance.execute(f"DETACH DATABASE IF EXISTS {name}")
            except duckdb.Error:
                pass  # still in use by a cursor someone kept: it goes with the process


def prepare_cursor(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Per-connection state a lake connection (or a cursor of one) needs: default catalog, id macro."""
    con.execute(f"USE {name}")
    start = secrets.randbelow(4096) + 1
    for statement in _ID_SETUP:
        con.execute(statement.format(start=start))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- writers take turns on a SQLite catalog ---------------------------------------------------


class WriterLock:
    """Writers of one SQLite-catalogued lake take turns; on PostgreSQL this does nothing.

    A lock file beside the catalog (``flock``: released by the kernel if the process
    dies, so a killed ingest never leaves the store locked), plus a thread lock, since
    the cursors of one process share it. Re-entrant within a thread.
    """

    def __init__(self, location: LakeLocation) -> None:
        self.path = location.catalog + ".lock" if location.kind == "sqlite" else None
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block."""
        if self.path is None:
            yield
            return
        with self._thread:
            if self._depth == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o664)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    os.close(self._fd)  # closing the descriptor releases the flock
                    self._fd = None
