"""ipywidgets for notebooks and Voila dashboards: conversations table, detail view, live panel, flag tuner.

Imported lazily (PEP 562) so ``import convolab.widgets`` costs nothing until a
widget is used, and each widget module loads only its own dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ConversationDetail", "ConversationTable", "FlagTuner", "LivePanel"]

_WHERE = {
    "ConversationTable": "convolab.widgets.table",
    "ConversationDetail": "convolab.widgets.detail",
    "LivePanel": "convolab.widgets.live_panel",
    "FlagTuner": "convolab.widgets.flag_tuner",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'convolab.widgets' has no attribute {name!r}") from None
    try:
        value = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(f"{name} needs the widgets extra: pip install 'convolab[widgets]' ({exc})") from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
