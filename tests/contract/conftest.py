"""Prism, mocking Twilio's own OpenAPI spec, for the twilio backend's contract tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO.parent / "shared" / "twilio" / "twilio_api_v2010.json"
PRISM = REPO / ".tools" / "node_modules" / ".bin" / "prism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_prism() -> None:
    if PRISM.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("contract tests need Prism: npm is not installed (install Node.js 20 + npm)", pytrace=False)
    done = subprocess.run([npm, "install", "--prefix", str(REPO / ".tools"), "@stoplight/prism-cli@5"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not PRISM.exists():
        pytest.fail(f"could not install Prism with npm: {done.stderr.strip()[-500:]}", pytrace=False)


class Prism:
    """A running Prism mock and its log."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log_path = url, log
        self._mark = 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def mark(self) -> None:
        """Remember where the log is now; :meth:`since_mark` reads what came after."""
        self._mark = len(self.log())

    def since_mark(self) -> str:
        return self.log()[self._mark:]


@pytest.fixture(scope="session")
def prism(tmp_path_factory) -> Prism:
    if not SPEC.exists():
        pytest.fail(f"Twilio spec missing at {SPEC}", pytrace=False)
    _install_prism()
    port = _free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Prism exited early:\n{log.read_text()[-2000:]}", pytrace=False)
            try:
                httpx.get(url + "/2010-04-01/Accounts.json", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("Prism did not start within 90 s", pytrace=False)
                time.sleep(0.5)
        yield Prism(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
