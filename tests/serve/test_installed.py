"""An installed convolab (a wheel, not the checkout) serves its dashboards.

Builds a wheel from the working tree's files, installs it without dependencies
into a fresh virtual environment that borrows this environment's dependencies
(a .pth line), and runs that environment's `convolab serve` from a folder
outside the checkout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import convolab
from convolab.generate import write_conversations
from tests.serve.test_server import request
from tests.serving import TOKEN, free_port, stop, wait_for_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _copy_tree(dest: Path) -> None:
    """The files a fresh clone would have, as they are in the working tree."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("installed")
    tree = root / "src"
    _copy_tree(tree)
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(wheels), str(tree)], check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("convolab-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    # Dependencies come from this environment (no network); convolab itself only from the wheel.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_installed_package_ships_every_dashboard(installed: Path, tmp_path: Path) -> None:
    code = ("import convolab, convolab.dashboards as d, json;"
            " print(json.dumps([convolab.__file__, d.list_dashboards(), str(d.dashboard_path('qa_review')),"
            " str(d.JUPYTER_PATH)]))")
    out = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    module, names, notebook, jupyter = json.loads(out)
    assert module.startswith(str(installed)) and notebook.startswith(str(installed))
    assert {"qa_review", "live_monitor"} <= set(names)
    # the page template and the Jupyter server config of the JupyterHub setup (docs/deploy.md)
    jupyter = Path(jupyter)
    assert jupyter.is_relative_to(installed)
    assert json.loads((jupyter / "jupyter_server_config.json").read_text())["VoilaConfiguration"] == {
        "template": "convolab"}
    template = jupyter / "voila" / "templates" / "convolab"
    assert (template / "index.html.j2").is_file() and (template / "conf.json").is_file()


def test_the_installed_convolab_serves_the_qa_dashboard(installed: Path, tmp_path: Path) -> None:
    src = write_conversations(tmp_path / "sample.jsonl", 20, seed=2)
    with convolab.open(tmp_path / "store.duckdb") as lab:
        lab.ingest(src)
    port = free_port()
    log = tmp_path / "serve.log"
    # Voila's page templates and the widget front ends are data files of the dependencies,
    # which live in this environment's prefix, not the new one's.
    env = {"PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(installed / "bin" / "convolab"), "serve", "qa_review", "--db", "store.duckdb",
                             "--port", str(port), "--token", TOKEN, "--no-browser"],
                            cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        status, _, body = request(port, f"/?token={TOKEN}")
    finally:
        stop(proc)
    assert status == 200, log.read_text()[-2000:]
    assert "application/vnd.jupyter.widget-view+json" in body, log.read_text()[-2000:]
    assert "Traceback" not in body and "error when executing" not in body
    assert re.search(r"Serving qa_review on http://127\.0\.0\.1:\d+/", log.read_text())
