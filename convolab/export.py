"""Exporting one conversation's transcript as text, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

__all__ = ["EXPORT_FORMATS", "export_conversation", "neutralise_formula"]

EXPORT_FORMATS = ("txt", "json", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """Prefix a cell that a spreadsheet would run as a formula with a quote (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_conversation(detail: dict[str, Any], format: str) -> bytes:  # noqa: A002
    """Render a conversation (as returned by ``Workbench.conversation``) as ``txt``, ``json`` or ``csv``."""
    if format == "json":
        return (json.dumps(detail, default=str, ensure_ascii=False, indent=2) + "\n").encode()
    if format == "txt":
        head = [
            f"Conversation {detail['id']} — {detail.get('flow') or ''}",
            f"Platform: {detail.get('platform')}  Contact: {detail.get('contact')}  Status: {detail.get('status')}",
            f"Start: {detail.get('started_at')}  End: {detail.get('ended_at')}",
            "",
        ]
        lines = [f"[{m.get('sent_at') or ''}] {m['role']}: {m.get('text') or ''}" for m in detail["transcript"]]
        return ("\n".join(head + lines) + "\n").encode()
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["conversation_id", "seq", "role", "text", "sent_at"])
        for m in detail["transcript"]:
            writer.writerow([neutralise_formula(v) for v in
                             (detail["id"], m["seq"], m["role"], m.get("text") or "", m.get("sent_at") or "")])
        return buffer.getvalue().encode()
    raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
