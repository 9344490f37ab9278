"""convolab: review, measure and act on conversations between AI agents and customers.

>>> import convolab
>>> lab = convolab.open("data/convolab.duckdb")
>>> lab.ingest("conversations.jsonl")
>>> lab.list_conversations(status="failed")
"""

from convolab.errors import (
    ActionNotAllowed,
    ConversationNotFound,
    ConvolabError,
    ConvolabWarning,
    CriteriaError,
    InvalidRecord,
)
from convolab.store import ConversationFilter, Workbench, open

__version__ = "0.1.0"

__all__ = [
    "ActionNotAllowed",
    "ConversationFilter",
    "ConversationNotFound",
    "ConvolabError",
    "ConvolabWarning",
    "CriteriaError",
    "InvalidRecord",
    "Workbench",
    "__version__",
    "open",
]
