"""Conversation reports for managers: the report model (polars frames) and publishing (HTML, PDF).

>>> from convolab.reports import build_report, write_report
>>> report = build_report(lab, since="2026-11-01", until="2026-11-30")
>>> report.kpis.select("name", "value", "previous", "change")
>>> write_report(report, "report.html")             # one self-contained file; or "report.pdf"
"""

from __future__ import annotations

import importlib
from typing import Any

from convolab.reports.model import Report, build_report, list_flows, list_platforms
from convolab.reports.period import InvalidReportRequest, Period

__all__ = [
    "InvalidReportRequest",
    "Period",
    "Report",
    "build_report",
    "list_flows",
    "list_platforms",
    "render_html",
    "write_report",
]

_LAZY = {"render_html": "convolab.reports.publish", "write_report": "convolab.reports.publish"}


def __getattr__(name: str) -> Any:
    # Publishing needs plotly (the widgets extra); the model does not.
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convolab.reports' has no attribute {name!r}")
