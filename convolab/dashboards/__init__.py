"""The Voila dashboards that ship with convolab (package data), and the server that publishes them.

Every notebook in this folder is a dashboard, named after its file:
``qa_review.ipynb`` is served by ``convolab serve qa_review``. An installed
convolab (not only a checkout) finds them here. :mod:`convolab.dashboards.server`
runs Voila behind a token, a Host/Origin check and per-reviewer identities.
"""

from __future__ import annotations

from pathlib import Path

from convolab.errors import ConvolabError

__all__ = ["DASHBOARD_DIR", "JUPYTER_PATH", "UnknownDashboard", "dashboard_path", "list_dashboards"]

#: The folder the dashboards ship in.
DASHBOARD_DIR = Path(__file__).resolve().parent
#: A Jupyter data and config folder: convolab's Voila page template, "convolab" (Voila's lab
#: template without the stylesheets it loads from a CDN), and a ``jupyter_server_config.json``
#: that selects it and loads no MathJax (a Jupyter server would fetch it from cdnjs).
#: ``convolab serve`` uses the template; Voila in a Jupyter server (JupyterHub) uses both with
#: ``JUPYTER_PATH`` and ``JUPYTER_CONFIG_PATH`` set to this folder (docs/deploy.md).
JUPYTER_PATH = DASHBOARD_DIR / "jupyter"


class UnknownDashboard(KeyError, ConvolabError):
    """No dashboard of this name ships with convolab."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown dashboard {self.name!r}; choose one of: {', '.join(list_dashboards())}"


def list_dashboards() -> list[str]:
    """The names of the dashboards that ship with convolab, sorted (``["live_monitor", "qa_review", ...]``)."""
    return sorted(p.stem for p in DASHBOARD_DIR.glob("*.ipynb") if not p.name.startswith("."))


def dashboard_path(name: str) -> Path:
    """The notebook of a named dashboard.

    Only names of notebooks in this folder are accepted, so a name can never
    reach a file elsewhere (``../x`` is an unknown dashboard, not a path).

    Raises
    ------
    UnknownDashboard
        No notebook of that name ships with convolab.
    """
    if name not in list_dashboards():
        raise UnknownDashboard(name)
    return DASHBOARD_DIR / f"{name}.ipynb"
