"""Showing a failed click to the person who clicked.

ipywidgets runs a click or change handler inside the kernel and, when it raises,
writes the traceback to the kernel log, which nobody using a Voila dashboard
sees: the button simply does nothing. Every handler a widget registers goes
through :func:`reporting`, so a failure (a store that went away, a network that
failed, a conversation another reviewer just deleted) becomes a red line in the
widget itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from convolab.widgets._html import esc

__all__ = ["error_html", "error_text", "reporting"]

F = TypeVar("F", bound=Callable[..., Any])


def error_text(exc: BaseException) -> str:
    """An exception as one line a person can read (a bare ``KeyError`` without its quotes)."""
    if type(exc) is KeyError and exc.args:
        return str(exc.args[0])
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def error_html(action: str, exc: BaseException) -> str:
    """``<action> failed: <reason>`` as escaped, red HTML (class ``cl-error``)."""
    return (f'<span class="cl-error" style="color:#c62828"><b>{esc(action)} failed:</b> '
            f"{esc(error_text(exc))}</span>")


def reporting(show: Callable[[str], Any], action: str, handler: F) -> F:
    """``handler`` that, instead of raising, calls ``show(html)`` with the failure.

    ``show`` receives :func:`error_html` of the exception (e.g. ``lambda h:
    setattr(message, "value", h)``). The handler's return value passes through;
    after a failure it returns ``None``.
    """

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - ipywidgets would only log it; the user must see it
            show(error_html(action, exc))
            return None

    return run  # type: ignore[return-value]
