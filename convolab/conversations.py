"""What a conversation is: statuses, roles, platforms and the contract's field lists.

These names come from the design contract (DESIGN.md) and are what the table,
the detail view, the CLI and the exports show, in this order.
"""

from __future__ import annotations

__all__ = [
    "DETAIL_FIELDS",
    "PLATFORMS",
    "PLATFORM_ICONS",
    "ROLES",
    "STATUSES",
    "STATUS_ALIASES",
    "TABLE_COLUMNS",
]

#: Conversation statuses. in_progress and queued are live states.
STATUSES = (
    "completed",
    "abandoned",
    "failed",
    "transferred",
    "in_progress",
    "queued",
    "no_answer",
    "voicemail",
)
#: Accepted on input and stored as the canonical status.
STATUS_ALIASES = {"human_handoff": "transferred"}

ROLES = ("customer", "agent", "human_agent", "supervisor", "system")
PLATFORMS = ("phone", "web")
PLATFORM_ICONS = {"phone": "📞", "web": "💬"}

#: The conversations table, in the contract's order (Parameters is available too).
TABLE_COLUMNS = (
    "ID",
    "Flow",
    "Platform",
    "Contact",
    "Status",
    "Duration",
    "Last Message",
    "Date",
    "Flagged",
    "Functions",
    "Tags",
    "Parameters",
)

#: The detail view's fields, in the contract's order; transcript and functions follow.
DETAIL_FIELDS = (
    "Platform",
    "Contact ID",
    "Status",
    "Tags",
    "Sentiment",
    "Duration",
    "Start",
    "End",
    "Review Flags",
    "Summary",
    "Analysis",
)
