"""Review flags: criteria as data, compiled to set-based SQL, and QA decisions on them."""

from __future__ import annotations

from convolab.flags.criteria import Criterion, criteria_version, load_criteria, run_flags
from convolab.flags.features import invalidate_features
from convolab.flags.review import add_manual_flag, confirm_flag, decide, dismiss_flag
from convolab.flags.tuning import evaluate_flags, sweep

__all__ = [
    "Criterion",
    "add_manual_flag",
    "confirm_flag",
    "criteria_version",
    "decide",
    "dismiss_flag",
    "evaluate_flags",
    "invalidate_features",
    "load_criteria",
    "run_flags",
    "sweep",
]

