"""The conversation store: open it with :func:`open`; everything else goes through the :class:`Workbench`.

Only this package touches a database connection (a test checks it). Its modules
are split by job: ``_connection`` (opening, transactions), ``schema`` (every
table and migration), ``pages`` (the conversations table), ``detail`` (one
conversation), ``reviews`` (which flags are open), ``audit`` (the audit log's
only writer) and ``delete``; ``lake`` is the team backend (DuckLake).
"""

from __future__ import annotations

from convolab.store._connection import DatabaseError
from convolab.store.audit import current_actor
from convolab.store.copy import copy_store
from convolab.store.lake import is_lake as is_team_store
from convolab.store.lake import store_exists
from convolab.store.pages import SORT_KEYS, TABLE_KEYS, ConversationFilter
from convolab.store.workbench import Result, Workbench, default_db_path, open

__all__ = [
    "SORT_KEYS",
    "TABLE_KEYS",
    "ConversationFilter",
    "DatabaseError",
    "Result",
    "Workbench",
    "copy_store",
    "current_actor",
    "default_db_path",
    "is_team_store",
    "open",
    "store_exists",
]
