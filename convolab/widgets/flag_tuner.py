"""FlagTuner: sliders per criterion threshold, live counts, PR curve, changed conversations."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from convolab.flags.criteria import Criterion, compile_criteria, load_criteria
from convolab.flags.tuning import flagged_ids, score_criterion, sweep
from convolab.store import Workbench
from convolab.widgets._feedback import reporting
from convolab.widgets._html import esc

__all__ = ["FlagTuner"]


class FlagTuner(widgets.VBox):
    """Tune one criterion's numeric thresholds and see the effect at once.

    Features are computed once when the tuner opens; each slider move is one
    query over them. Shows flagged count, precision/recall against
    ``labels``, the PR curve of the first param, and a sample of conversations
    newly flagged or no longer flagged compared with the file's defaults.

    Parameters
    ----------
    lab
        An open :class:`convolab.Workbench`.
    criteria
        Criteria to tune (default: the built-in library).
    labels
        ``"ground_truth"`` or ``"decisions"`` (see :func:`convolab.flags.evaluate_flags`).
    """

    def __init__(self, lab: Workbench, criteria: list[Criterion] | None = None, *, labels: str = "ground_truth"):
        self.lab, self.labels = lab, labels
        self.criteria = {c.name: c for c in (criteria or load_criteria())}
        compile_criteria(lab, list(self.criteria.values()))  # builds the features table once
        self.pick = widgets.Dropdown(options=list(self.criteria), description="criterion")
        self.sliders = widgets.VBox()
        self.counts = widgets.HTML()
        self.changes = widgets.HTML()
        self.curve = widgets.Output()
        self.message = widgets.HTML()  # why a slider move or a pick failed (widgets._feedback)
        self.pick.observe(reporting(self._say, "Choosing the criterion", lambda _: self._select()), names="value")
        super().__init__([self.pick, self.sliders, self.message, self.counts, self.curve, self.changes])
        self._select()

    @property
    def current(self) -> Criterion:
        """The selected criterion with the sliders' values."""
        c = self.criteria[self.pick.value]
        return c.with_params(**{s.description: s.value for s in self.sliders.children})

    def _select(self) -> None:
        c = self.criteria[self.pick.value]
        sliders = []
        for name, value in c.params.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue  # keyword patterns are edited in the file, not with a slider
            top = max(float(value) * 4, 1.0)
            cls = widgets.IntSlider if isinstance(value, int) else widgets.FloatSlider
            s = cls(value=value, min=0, max=int(top) if cls is widgets.IntSlider else top,
                    description=name, continuous_update=False)
            s.observe(reporting(self._say, f"Setting {name}", lambda _: self._refresh()), names="value")
            sliders.append(s)
        self.sliders.children = sliders
        self._curve()
        self._refresh()

    def _curve(self) -> None:
        self.curve.clear_output()
        if not self.sliders.children:
            return
        s = self.sliders.children[0]
        values = [s.min + (s.max - s.min) * k / 10 for k in range(11)]
        if isinstance(s, widgets.IntSlider):
            values = sorted({int(round(v)) for v in values})
        _, fig = sweep(self.lab, self.criteria[self.pick.value], s.description, values, labels=self.labels)
        # Make sure the cached features this criterion reads are current (cheap if they are).
        compile_criteria(self.lab, [self.criteria[self.pick.value]])
        with self.curve:
            fig.show()

    def _say(self, html: str) -> None:
        self.message.value = html

    def _refresh(self) -> None:
        self.message.value = ""
        c = self.current
        score: dict[str, Any] = score_criterion(self.lab, c, labels=self.labels)

        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1%}"

        self.counts.value = (
            f"<b>{esc(c.name)}</b>: {score['flagged']} flagged, precision {pct(score['precision'])}, "
            f"recall {pct(score['recall'])}, support {score['support']}"
        )
        now, before = flagged_ids(self.lab, c), flagged_ids(self.lab, self.criteria[c.name])
        added, removed = sorted(now - before)[:10], sorted(before - now)[:10]
        self.changes.value = (
            f"<div>newly flagged ({len(now - before)}): {esc(', '.join(added)) or '—'}</div>"
            f"<div>no longer flagged ({len(before - now)}): {esc(', '.join(removed)) or '—'}</div>"
        )
