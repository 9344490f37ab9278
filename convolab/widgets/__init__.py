"""ipywidgets for notebooks and Voila dashboards: conversations table, review queue, detail view, live
panel, flag tuner, the connection banner, and the page store dashboards reach the store through.

Imported lazily (PEP 562) so ``import convolab.widgets`` costs nothing until a
widget is used, and each widget module loads only its own dependencies.
"""

from __future__ import annotations

from typing import Any

from convolab._deps import require

__all__ = ["ConnectionBanner", "ConversationDetail", "ConversationTable", "FlagTuner", "LivePanel", "PageStore",
           "ReviewQueue"]

_WHERE = {
    "ConnectionBanner": "convolab.widgets.connection",
    "PageStore": "convolab.widgets.page_store",
    "ConversationTable": "convolab.widgets.table",
    "ConversationDetail": "convolab.widgets.detail",
    "LivePanel": "convolab.widgets.live_panel",
    "FlagTuner": "convolab.widgets.flag_tuner",
    "ReviewQueue": "convolab.widgets.queue",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'convolab.widgets' has no attribute {name!r}") from None
    value = getattr(require(module, "widgets"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
