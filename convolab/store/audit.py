"""The audit log: who did what to which conversation, flag or call. Its only writer.

Every decision, manual flag, deletion and live action is written here with the
person who did it (:func:`current_actor`), in the same transaction as the change
it records where there is one.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Any

import polars as pl

from convolab import settings

if TYPE_CHECKING:
    from convolab.store.workbench import Workbench

__all__ = ["current_actor", "list_audit", "write_audit"]


def current_actor() -> str:
    """Who is acting, for the audit log.

    In order: the JupyterHub user whose server runs this (``JUPYTERHUB_USER``), the
    Jupyter Server identity ``convolab serve`` put in this page's kernel
    (``CONVOLAB_JUPYTER_USER``), ``CONVOLAB_USER``, then the operating-system user.
    """
    s = settings.current()
    for name in (s.jupyterhub_user, s.jupyter_user, s.user):
        if name:
            return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def write_audit(
    store: Workbench,
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
    result: str | None = None,
) -> None:
    """Append one entry to ``audit_log`` (inside the caller's transaction, if any).

    Outside a transaction on a team store the entry is its own commit, run again if it
    collides with another (:meth:`Workbench.execute`).
    """
    store.execute(
        "INSERT INTO audit_log (id, occurred_at, actor, action, target, details, result)"  # noqa: S608
        f" VALUES ({store.new_id_sql('audit_log')}, now()::TIMESTAMP, ?, ?, ?, ?, ?)",
        [actor or current_actor(), action, target, json.dumps(details or {}, default=str), result],
    )


def list_audit(store: Workbench, *, target: str | None = None, limit: int = 100) -> pl.DataFrame:
    """The newest audit-log entries, optionally for one conversation or call."""
    if target is None:
        return store.sql("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit])
    return store.sql("SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?", [target, limit])
