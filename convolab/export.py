"""Exporting one conversation's transcript as text, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

from convolab.errors import InvalidArgument

__all__ = ["EXPORT_FORMATS", "export_conversation", "neutralise_formula"]

EXPORT_FORMATS = ("txt", "json", "csv")
# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"), once the start
# of the cell is NFKC-normalised (full-width ＝ ＋ － ＠, small ﹦ ﹢ ﹣, superscript ⁼ ... become
# = + - @) and stripped of leading spaces, controls and invisible format characters.
_FORMULA_START = frozenset("=+-@\u2212")
_SKIPPED = frozenset(("Zs", "Zl", "Zp", "Cc", "Cf"))
# Enough of the start to see past any plausible run of spaces before the first real character.
_HEAD = 256


def neutralise_formula(value: Any) -> Any:
    """Prefix a cell that a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    The cell is a formula risk when, after NFKC normalisation of its start and
    skipping leading whitespace and control or format characters, it starts with
    ``=``, ``+``, ``-``, ``@`` (or the minus sign U+2212), or when it starts with a
    tab or carriage return. The value is otherwise returned unchanged. Every
    spreadsheet-bound cell convolab writes goes through this function.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r":
        return "'" + value
    head = unicodedata.normalize("NFKC", value[:_HEAD])
    for char in head:
        if unicodedata.category(char) in _SKIPPED:
            continue
        return "'" + value if char in _FORMULA_START else value
    return value


def export_conversation(detail: dict[str, Any], format: str) -> bytes:  # noqa: A002
    """Render a conversation (as returned by ``Workbench.conversation``) as ``txt``, ``json`` or ``csv``."""
    if not isinstance(format, str) or format not in EXPORT_FORMATS:
        raise InvalidArgument(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if format == "json":
        return (json.dumps(detail, default=str, ensure_ascii=False, indent=2) + "\n").encode()
    if format == "txt":
        head = [
            f"Conversation {detail['id']} — {detail.get('flow') or ''}",
            f"Platform: {detail.get('platform') or ''}  Contact: {detail.get('contact') or ''}"
            f"  Status: {detail.get('status') or ''}",
            f"Start: {detail.get('started_at') or ''}  End: {detail.get('ended_at') or ''}",
            "",
        ]
        lines = [f"[{m.get('sent_at') or ''}] {m['role']}: {m.get('text') or ''}" for m in detail["transcript"]]
        return ("\n".join(head + lines) + "\n").encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["conversation_id", "seq", "role", "text", "sent_at"])
    for m in detail["transcript"]:
        writer.writerow([neutralise_formula(v) for v in
                         (detail["id"], m["seq"], m["role"], m.get("text") or "", m.get("sent_at") or "")])
    return buffer.getvalue().encode()
