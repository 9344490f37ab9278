"""Running the real ``convolab serve`` in tests: start it on a free port, wait for it, stop it.

Used by the serving tests (tests/serve/) and the browser tests (tests/browser/).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

#: The token test servers ask for (unless they are given a reviewers file).
TOKEN = "browser-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"convolab serve exited early with code {proc.returncode}")
        try:
            # A TCP connect only: a page request would start a kernel.
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"convolab serve did not listen on 127.0.0.1:{port} within {timeout}s")


def start_serve(notebook: str, db: Path | str, log: Path, *, token: str | None = TOKEN,
                users: Path | None = None, env: dict[str, str] | None = None,
                extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int]:
    """Start the real ``convolab serve`` for a dashboard; returns the process and its port."""
    port = free_port()
    cmd = [sys.executable, "-m", "convolab", "serve", notebook, "--db", str(db), "--port", str(port),
           "--no-browser", *extra]
    cmd += ["--users", str(users)] if users is not None else ["--token", str(token)]
    proc = subprocess.Popen(cmd, cwd=log.parent, env={**os.environ, **(env or {})},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def environment_of(pid: int) -> dict[str, str]:
    """A process's environment, from /proc."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)
