"""Shared fixtures: real stores in temporary folders (a DuckDB file, and a team store in
DuckLake), sample data, ../shared, and a real PostgreSQL server for team-store catalogs.

The store-facing fixtures (``lab`` and everything built on it) run every test on each
backend of :data:`BACKENDS`, so the suite proves the two behave alike. PostgreSQL-catalogued
lakes get the focused tests that ask for ``pg_location``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import convolab
from convolab.generate import write_conversations

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

#: The backends every store-facing test runs on: a DuckDB file, and a lake with a SQLite catalog.
BACKENDS = ("file", "lake-sqlite")


def store_location(backend: str, folder: Path, name: str = "store") -> str:
    """Where a test store of ``backend`` lives in ``folder`` (what ``convolab.open`` takes)."""
    if backend == "file":
        return str(folder / f"{name}.duckdb")
    if backend == "lake-sqlite":
        return f"ducklake:sqlite:{folder / name}.sqlite"
    raise ValueError(backend)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each store-facing test on every backend; ``file_only`` tests on the file alone."""
    if "backend" in metafunc.fixturenames:
        only_file = metafunc.definition.get_closest_marker("file_only") is not None
        metafunc.parametrize("backend", ["file"] if only_file else list(BACKENDS))


@pytest.fixture
def location(backend: str, tmp_path: Path) -> str:
    """A new store's location on the test's backend (nothing is created yet)."""
    return store_location(backend, tmp_path)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (DESIGN.md, GoEmotions, the Twilio spec)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: tests expect ../shared beside the checkout"
    return SHARED


@pytest.fixture
def lab(location: str):
    """An empty store: a real DuckDB file, or a real DuckLake with a SQLite catalog."""
    with convolab.open(location) as workbench:
        yield workbench


# -- PostgreSQL, for team stores with a PostgreSQL catalog ------------------------------------

def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make system-deps` installs Debian's postgresql")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, Any]]:
    """A PostgreSQL server of our own on 127.0.0.1 (a free port), stopped at the end of the session.

    Run as an unprivileged user (``convolab-pg`` if it exists, else ``nobody``) when the
    tests run as root, since PostgreSQL refuses to run as root.
    """
    bin_dir = _pg_bin()
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        name = "convolab-pg"
        try:
            owner = pwd.getpwnam(name)
        except KeyError:
            owner = pwd.getpwnam("nobody")
        run_as = ["runuser", "-u", owner.pw_name, "--"]
    home = Path(tempfile.mkdtemp(prefix="convolab-pg-"))
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    data, port = home / "data", _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True, "cwd": home}
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "convolab",
                    "--no-sync", "-E", "UTF8"], **quiet)
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                    "-o", f"-h 127.0.0.1 -p {port} -k {home} -F", "start"], **quiet)
    server = {"bin": bin_dir, "port": port, "run_as": run_as, "home": home}
    try:
        yield server
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=home)
        shutil.rmtree(home, ignore_errors=True)


def postgres_database(server: dict[str, Any]) -> str:
    """A new empty database on ``server``; returns its connection string."""
    name = f"lake_{uuid.uuid4().hex[:12]}"
    subprocess.run([*server["run_as"], str(server["bin"] / "createdb"), "-h", "127.0.0.1", "-p",
                    str(server["port"]), "-U", "convolab", name],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=server["home"])
    return f"dbname={name} host=127.0.0.1 port={server['port']} user=convolab"


@pytest.fixture
def pg_location(postgres: dict[str, Any], tmp_path: Path) -> str:
    """A new team store with its catalog in a fresh PostgreSQL database, data in ``tmp_path``."""
    return f"ducklake:postgres:{postgres_database(postgres)}?data={tmp_path / 'lake-data'}"


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as-is) to a JSONL file; return its path."""

    def write(records: Iterable[Any], name: str = "input.jsonl") -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def sample_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 generated conversations (seed 7) as canonical JSONL."""
    return write_conversations(tmp_path_factory.mktemp("sample") / "sample.jsonl", 300, seed=7)


@pytest.fixture
def sample_lab(lab, sample_jsonl: Path):
    """A store loaded with the 300 sample conversations."""
    lab.ingest(sample_jsonl)
    return lab


def recorded_store(folder: Path, conversations: int, *, seed: int, calls: int) -> Path:
    """A file store in ``folder``: ``conversations`` generated ones, the first ``calls`` phone calls
    spoken (espeak-ng), their recordings root set and every one analysed."""
    from convolab.audio import analyse_store, set_recordings_root
    from convolab.generate import write_conversations

    source = write_conversations(folder / "calls.jsonl", conversations, seed=seed, audio=folder / "audio",
                                 audio_calls=calls)
    db = folder / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(source)
        set_recordings_root(lab, folder / "audio")
        assert analyse_store(lab)["analysed"] == calls
    return db


def conversation(id: str = "c-1", **overrides: Any) -> dict[str, Any]:  # noqa: A002
    """A valid canonical conversation record, with fields overridden."""
    record = {
        "id": id, "flow": "Utilities Inbound", "platform": "phone", "contact": "+15555550123",
        "contact_id": "cust-123", "status": "completed",
        "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T10:04:12Z",
        "summary": "Customer asked about a high bill.", "analysis": "Resolved.",
        "tags": {"call_reason": "billing", "language": "en", "issue": "high bill"},
        "parameters": {"account_id": "A-1"},
        "recording": "audio/c-000001.wav",
        "messages": [
            {"role": "customer", "text": "Why is my bill so high?", "at": "2026-11-01T10:00:03Z"},
            {"role": "agent", "text": "Let me check that for you.", "at": "2026-11-01T10:00:05Z"},
        ],
        "functions": [
            {"name": "lookup_account", "arguments": {"phone": "+15555550123"},
             "output": {"account_id": "A-1"}, "status": "ok", "at": "2026-11-01T10:00:20Z"},
        ],
    }
    record.update(overrides)
    return record


@pytest.fixture(scope="session")
def playwright():
    """One Playwright (sync API) per session: a second one in the same thread is refused, and both
    the browser tests and the report tests drive chromium."""
    from playwright import sync_api  # the test extra: missing, the browser tests fail, never skip
    with sync_api.sync_playwright() as p:
        yield p
