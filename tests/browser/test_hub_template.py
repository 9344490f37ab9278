"""Voila inside a Jupyter server (the JupyterHub setup of docs/deploy.md) with convolab's template.

A single-user server under JupyterHub renders the dashboards with Voila's server extension, not
with ``convolab serve``. With ``JUPYTER_PATH`` and ``JUPYTER_CONFIG_PATH`` pointing at
:data:`convolab.dashboards.JUPYTER_PATH` it uses convolab's page template and loads no MathJax,
so the page loads nothing from outside the server (Voila's own lab template links Font Awesome
from a CDN, and a Jupyter server points MathJax at cdnjs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from convolab.dashboards import JUPYTER_PATH, dashboard_path

from ..serving import free_port, stop, wait_for_port
from .test_qa_review import ROWS

pytestmark = pytest.mark.browser

TOKEN = "hub-template-test-token"


def _jupyter_server(root: Path, db: Path, log: Path, *, convolab_setup: bool) -> tuple[subprocess.Popen, int]:
    """A real ``jupyter server`` with Voila's extension, as JupyterHub's single-user server runs it,
    with or without the environment docs/deploy.md gives it."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", "--allow-root"]
    env = {**os.environ, "CONVOLAB_DB": str(db), "JUPYTER_RUNTIME_DIR": str(log.parent / f"{log.stem}-runtime")}
    if convolab_setup:
        env |= {"JUPYTER_PATH": str(JUPYTER_PATH), "JUPYTER_CONFIG_PATH": str(JUPYTER_PATH)}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    return proc, port


def _html(port: int) -> str:
    url = f"http://127.0.0.1:{port}/voila/render/qa_review.ipynb?token={TOKEN}"
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - our own local server
        return response.read().decode()


def test_voila_in_a_jupyter_server_renders_the_dashboards_without_a_cdn(page, browser_store, tmp_path) -> None:
    root = tmp_path / "dashboards"
    root.mkdir()
    shutil.copy(dashboard_path("qa_review"), root / "qa_review.ipynb")  # what docs/deploy.md copies

    plain, port = _jupyter_server(root, browser_store, tmp_path / "plain.log", convolab_setup=False)
    try:
        assert "cdn.jsdelivr.net" in _html(port)  # Voila's own template: what the setting avoids
    finally:
        stop(plain)

    server, port = _jupyter_server(root, browser_store, tmp_path / "convolab.log", convolab_setup=True)
    try:
        assert "cdn.jsdelivr.net" not in _html(port)
        # the page fixture fails the test on any request outside the server
        page.goto(f"http://127.0.0.1:{port}/voila/render/qa_review.ipynb?token={TOKEN}")
        page.wait_for_selector(ROWS, timeout=120_000)
        assert page.locator(".cl-table th:has-text('Duration')").count() == 1
    finally:
        stop(server)
