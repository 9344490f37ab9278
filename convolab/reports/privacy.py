"""Keep personal data out of published reports.

A published report holds only aggregated figures; conversations are referred to by id.
But some labels are free text from the store (flow names, call-reason tags, function
and criterion names, even ids) and could carry a phone number or an email address. Every
such label goes through :func:`scrub` before it is published: anything that looks like an
email address, or like a phone number (seven or more digits, with the usual separators),
becomes ``[redacted]``. It errs on the side of removing too much: a long order number is
redacted too.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "looks_personal", "safe_id", "scrub"]

REDACTED = "[redacted]"
_MAX_LABEL = 60

# Local part, an at sign (also the full-width one), a dotted domain. Deliberately loose.
_EMAIL = re.compile(r"[^\s@＠<>()\[\]{}\"',;:]+\s*[@＠]\s*[^\s@＠<>()\[\]{}\"',;:]+\.[^\s@＠<>()\[\]{}\"',;:]+")
# A run of digits with phone-like separators in between; counted below, so "2026" stays.
_DIGITS = re.compile(r"\+?\(?\d[\d\s().\-/–]*\d")
_MIN_PHONE_DIGITS = 7


def _redact_digits(match: re.Match[str]) -> str:
    text = match.group()
    return REDACTED if sum(ch.isdigit() for ch in text) >= _MIN_PHONE_DIGITS else text


def scrub(value: object, *, limit: int = _MAX_LABEL) -> str:
    """A label safe to publish: emails and phone-like numbers redacted, at most ``limit`` characters.

    Not HTML-escaped: escape the result where it goes into a page.

    Examples
    --------
    >>> scrub("Call back +1 (555) 555-0199 or bob@example.com")
    'Call back [redacted] or [redacted]'
    """
    if value is None:
        return ""
    text = str(value)
    text = _EMAIL.sub(REDACTED, text)
    text = _DIGITS.sub(_redact_digits, text)
    text = " ".join(text.split())  # no control characters or line breaks in a label
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def looks_personal(value: object) -> bool:
    """Whether :func:`scrub` would redact something in ``value``."""
    text = "" if value is None else str(value)
    return _EMAIL.search(text) is not None or any(
        sum(ch.isdigit() for ch in m.group()) >= _MIN_PHONE_DIGITS for m in _DIGITS.finditer(text)
    )


def safe_id(conversation_id: object) -> str | None:
    """A conversation id fit to publish, or ``None`` if it looks like contact details.

    Ids are held to a looser digit rule than labels (``c-0001234`` has seven digits): an id
    is withheld when it holds an email address, an international-looking number (``+``
    then seven or more digits) or ten or more digits in one run.
    """
    if conversation_id is None:
        return None
    text = str(conversation_id)
    if _EMAIL.search(text) or len(text) > _MAX_LABEL:
        return None
    for m in _DIGITS.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group())
        if digits >= 10 or (m.group().startswith("+") and digits >= _MIN_PHONE_DIGITS):
            return None
    return text
