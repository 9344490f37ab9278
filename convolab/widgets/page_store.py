"""How a dashboard page reaches its store without locking everyone else out.

A DuckDB file has one writer at a time, and a reader holds the file too: a
page kernel that kept the file open would stop every other page, ``convolab
ingest`` and ``convolab review`` for as long as the page lived. So on a file
store a :class:`PageStore` opens the file for each user action (one click, one
filter change) and closes it straight after; a team store (``ducklake:...``)
takes any number of connections, so there each page keeps its own.

Widgets accept either a :class:`~convolab.store.Workbench` (notebooks, where
you own the connection) or a :class:`PageStore` (dashboards), and go through
:func:`session` either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import convolab
from convolab.errors import StoreInUse
from convolab.store import Workbench, default_db_path

__all__ = ["PageStore", "session"]

#: Seconds an action keeps trying while another process writes (another page's click,
#: a CLI decision, a live call being saved, a small ingest); the page says it is waiting.
#: A longer holder gets the "store is in use by process N" message, and nothing is saved.
DEFAULT_WAIT_S = 30.0

#: Called once when an action starts waiting for another process's write.
OnWait = Callable[[StoreInUse], object]


def _is_team_store(target: str) -> bool:
    # Team stores (DuckLake catalogs) take many connections at once; ":memory:" has no file.
    return target.startswith("ducklake:") or target == ":memory:"


class PageStore:
    """The store of one dashboard page: opened per action on a file store, kept open on a team store.

    Parameters
    ----------
    target
        A store file or team-store URL; default ``$CONVOLAB_DB`` (which ``convolab serve`` sets).
    wait
        Seconds an action waits for another process's write to finish before it
        fails with :class:`~convolab.errors.StoreInUse` (naming that process).
        The widgets show that they are waiting after a fraction of a second.

    Examples
    --------
    >>> store = PageStore("data/convolab.duckdb")
    >>> with store.session() as lab:            # the file is open only inside the block
    ...     lab.count_conversations(flagged=True)
    """

    def __init__(self, target: str | Path | None = None, *, wait: float = DEFAULT_WAIT_S) -> None:
        self.target = str(target) if target is not None else str(default_db_path())
        self.wait = wait
        self.shared = _is_team_store(self.target)
        self._kept: Workbench | None = None
        self._local = threading.local()
        self._lock = threading.RLock()  # one action at a time per page (a DuckDB connection is not thread-safe)
        self.opened = 0  # how many times the file was opened (tests and benchmarks read it)

    @property
    def path(self) -> Path:
        """The store's location (recordings given as relative paths resolve beside a store file)."""
        return Path(self.target)

    def __repr__(self) -> str:
        how = "kept open" if self.shared else "opened per action"
        return f"<convolab PageStore {self.target} ({how})>"

    @contextmanager
    def session(self, *, on_wait: OnWait | None = None) -> Iterator[Workbench]:
        """The store, open for the block: one user action's reads and writes.

        Sessions nest: an action that refreshes the table and the detail view
        inside its own session opens the file once. ``on_wait`` is called once
        (with the holder) if the action has to wait for another process, so the
        page can say so while it waits.

        Raises
        ------
        convolab.errors.StoreInUse
            Another process kept the file for longer than ``wait`` seconds.
        """
        with self._lock:
            current = getattr(self._local, "lab", None)
            if current is not None:
                yield current
                return
            if self.shared:
                if self._kept is None:
                    self._kept = convolab.open(self.target)
                self._local.lab = self._kept
                try:
                    yield self._kept
                finally:
                    self._local.lab = None
                return
            lab = self._open_file(on_wait)
            self._local.lab = lab
            try:
                yield lab
            finally:
                self._local.lab = None
                lab.close()

    def _open_file(self, on_wait: OnWait | None) -> Workbench:
        deadline = time.monotonic() + self.wait
        pause = 0.01
        told = False
        while True:
            try:
                lab = convolab.open(self.target)
            except StoreInUse as exc:
                # Another page's click or a CLI decision holds the file for milliseconds;
                # an ingest for longer. Retry quickly at first, then back off.
                if time.monotonic() + pause > deadline:
                    raise
                if on_wait is not None and not told and pause >= 0.16:  # not for a mere click
                    told = True
                    on_wait(exc)
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
                continue
            self.opened += 1
            return lab

    def close(self) -> None:
        """Close a kept team-store connection (a file store holds nothing between actions)."""
        with self._lock:
            if self._kept is not None:
                self._kept.close()
                self._kept = None


def session(store: Workbench | PageStore | Any, *,
            on_wait: OnWait | None = None) -> AbstractContextManager[Workbench]:
    """A session on ``store``: a :class:`PageStore`'s :meth:`PageStore.session`, or an open workbench as is."""
    if isinstance(store, PageStore):
        return store.session(on_wait=on_wait)
    return nullcontext(store)
