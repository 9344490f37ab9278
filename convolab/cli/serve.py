"""``convolab serve``: start a Voila dashboard on 127.0.0.1 against a store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from convolab import settings
from convolab.cli._app import DbOption, app, console, fail, resolve_db
from convolab.store import store_exists

__all__ = ["DASHBOARDS", "dashboard_path", "voila_command"]

DASHBOARDS = ("qa_review", "live_monitor", "manager_report")
_DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboards"
#: Seconds a dashboard's notebook may take to execute before Voila gives up.
EXECUTOR_TIMEOUT_S = 120
#: Seconds after which a kernel whose page has closed is shut down.
CULL_IDLE_S = 5


def dashboard_path(name: str) -> Path:
    """The notebook of a named dashboard (``qa_review``, ``live_monitor``, ``manager_report``)."""
    return _DASHBOARD_DIR / f"{name}.ipynb"


def voila_command(notebook: Path, *, port: int, open_browser: bool) -> list[str]:
    """The Voila command line: 127.0.0.1 only, sources stripped, bounded execution time."""
    return [
        sys.executable, "-m", "voila", str(notebook),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--strip_sources=True",
        f"--VoilaExecutor.timeout={EXECUTOR_TIMEOUT_S}",
        # Each page's kernel holds the DuckDB store's write lock; cull kernels whose page
        # has gone so that a reload or a second reviewer can open the store again.
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}",
        "--MappingKernelManager.cull_interval=2",
        "--no-browser" if not open_browser else "--Voila.open_browser=True",
    ]


@app.command()
def serve(
    dashboard: Annotated[str, typer.Argument(help="qa_review, live_monitor or manager_report.")] = "qa_review",
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8866,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
) -> None:
    """Serve a Voila dashboard (qa_review, live_monitor, manager_report) on 127.0.0.1."""
    if dashboard not in DASHBOARDS:
        fail(f"unknown dashboard {dashboard!r}; choose one of: {', '.join(DASHBOARDS)}")
    notebook = dashboard_path(dashboard)
    if not notebook.is_file():
        fail(f"dashboard {dashboard!r} is not installed ({notebook} is missing)")
    if shutil.which("voila") is None and not _has_voila():
        fail("voila is not installed: pip install 'convolab[widgets]'")
    path = resolve_db(db)
    if not store_exists(path):
        fail(f"no store at {path}; create one with `convolab ingest` or `convolab generate`")
    # A team store's location passes as it is (its SQLite path is made absolute when parsed).
    env = settings.child_environment(CONVOLAB_DB=str(path.resolve()) if isinstance(path, Path) else path)
    console.print(f"Serving {dashboard} on http://127.0.0.1:{port}/ (store {path}); Ctrl-C stops it.")
    try:
        code = subprocess.call(voila_command(notebook, port=port, open_browser=not no_browser), env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


def _has_voila() -> bool:
    try:
        import voila  # noqa: F401
    except ImportError:
        return False
    return True
