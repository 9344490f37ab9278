"""Tables for live calls and audio features (schema version 4)."""

from __future__ import annotations

from convolab.schema import Migration

# Placeholder owned by the live-calls work; filled in with its tables.
MIGRATION = Migration(4, "live calls and audio", ())
