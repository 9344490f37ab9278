"""The public API is small and explicit (httpx's test of the same name)."""

from __future__ import annotations

import subprocess
import sys

import convolab


def test_all_is_exactly_the_public_names():
    public = {name for name in dir(convolab) if not name.startswith("_")}
    # submodules imported as a side effect are not part of the API
    public -= {"conversations", "errors", "schema", "settings", "store", "ingest", "export", "generate", "cli",
               "emotions", "flags", "live", "widgets", "audio", "reports", "dashboards"}
    assert public == set(convolab.__all__) - {"__version__"}


def test_import_is_light():
    code = "import sys, convolab; print(any(m in sys.modules for m in ('torch', 'transformers', 'ipywidgets', 'twilio', 'librosa')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
