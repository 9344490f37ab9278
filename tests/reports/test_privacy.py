"""Contact details never reach a published label."""

from __future__ import annotations

import pytest

from convolab.reports.privacy import REDACTED, looks_personal, safe_id, scrub


@pytest.mark.parametrize("text", [
    "+15555550123", "+1 (555) 555-0123", "555-0199 ext", "call 020 7946 0958", "555.010.9999",
    "bob@example.com", "Jane.Doe+billing@mail.example.co.uk", "x＠example.org",
])
def test_contact_details_are_redacted(text) -> None:
    out = scrub(f"before {text} after")
    assert REDACTED in out and looks_personal(text) and text not in out
    assert out.startswith("before ") and out.endswith(" after")
    assert sum(ch.isdigit() for ch in out) < 7 and "@" not in out and "＠" not in out


@pytest.mark.parametrize("text", ["Utilities Inbound", "billing", "order 2026", "A-12345", "lookup_account",
                                  "Tier 2 support"])
def test_ordinary_labels_are_kept(text) -> None:
    assert scrub(text) == text and not looks_personal(text)


def test_labels_are_one_short_line() -> None:
    assert scrub("a\nb\tc") == "a b c"
    long = scrub("x" * 200)
    assert len(long) == 60 and long.endswith("…")
    assert scrub(None) == ""


def test_ids_are_published_unless_they_are_contact_details() -> None:
    assert safe_id("c-0001234") == "c-0001234"
    assert safe_id("+15555550123") is None and safe_id("15555550123") is None
    assert safe_id("someone@example.com") is None and safe_id(None) is None
