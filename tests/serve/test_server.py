"""The real `convolab serve`, over plain HTTP and websockets: no token, a foreign Host or a foreign
Origin gets no page and no kernel; each reviewer's page kernel carries that reviewer; SIGTERM and
SIGINT leave nothing behind; a taken port is an error; a page that has gone is shut down."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convolab
from convolab.cli import app
from convolab.flags import add_manual_flag
from convolab.generate import write_conversations
from tests.serving import (
    TOKEN,
    alive,
    descendants,
    environment_of,
    free_port,
    start_serve,
    stop,
    wait_for_port,
)

pytestmark = pytest.mark.slow

ALICE = "alice-token-0123456789abc"
BOB = "bob-token-0123456789abcdef"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-store")
    src = write_conversations(root / "sample.jsonl", 30, seed=3)
    db = root / "store.duckdb"
    with convolab.open(db) as lab:
        lab.ingest(src)
        for cid in lab.list_conversations(limit=3)["id"]:
            add_manual_flag(lab, cid, "needs_look", reason="planted", reviewer="setup")
    return db


@pytest.fixture(scope="module")
def team(store: Path, tmp_path_factory: pytest.TempPathFactory):
    """`convolab serve --users` with two reviewers; yields (process, port)."""
    root = tmp_path_factory.mktemp("team")
    users = root / "team.yml"
    users.write_text(f"alice: {ALICE}\nbob: {BOB}\n")
    proc, port = start_serve("qa_review", store, root / "serve.log", users=users,
                             env={"JUPYTERHUB_USER": "server-owner"})
    yield proc, port
    stop(proc)


def request(port: int, path: str, *, host: str | None = None, headers: dict[str, str] | None = None,
            method: str = "GET", body: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
    try:
        conn.request(method, path, body=body,
                     headers={"Host": host or f"127.0.0.1:{port}", **(headers or {})})
        reply = conn.getresponse()
        headers: dict[str, str] = {}
        for k, v in reply.getheaders():  # several Set-Cookie headers (login, _xsrf): one per line
            headers[k.lower()] = f"{headers[k.lower()]}\n{v}" if k.lower() in headers else v
        return reply.status, headers, reply.read().decode("utf-8", "replace")
    finally:
        conn.close()


def kernels(server: subprocess.Popen) -> set[int]:
    return {pid for pid in descendants(server.pid) if "ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
        errors="replace")}


def run_async(coroutine: object) -> object:
    """Run a coroutine to the end on its own loop in a thread (the browser tests keep a loop
    running in this thread)."""
    result: dict[str, object] = {}

    def runner() -> None:
        try:
            result["value"] = asyncio.run(coroutine)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]


def websocket(port: int, path: str, headers: dict[str, str]) -> int:
    """Open the kernel websocket; return 101 when it opens, else the HTTP status it was refused with."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    async def attempt() -> int:
        try:
            conn = await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{port}{path}", headers=headers,
                                                       connect_timeout=30, request_timeout=60))
        except HTTPClientError as exc:
            return exc.code
        conn.close()
        return 101

    return run_async(attempt())


@pytest.fixture(scope="module")
def alice_page(team):
    """Alice opens her page: (kernel id, login cookie, kernel pid)."""
    proc, port = team
    before = kernels(proc)
    status, headers, body = request(port, f"/?token={ALICE}")
    assert status == 200, body[:500]
    assert "application/vnd.jupyter.widget-view+json" in body  # the notebook ran and drew its widgets
    assert "Traceback" not in body and "error when executing" not in body
    kernel_id = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      body, re.S)[1])["kernelId"]
    (pid,) = kernels(proc) - before
    cookie = "; ".join(line.split(";")[0] for line in headers["set-cookie"].splitlines())
    return kernel_id, cookie, pid


def test_no_token_gets_no_page_and_no_kernel(team) -> None:
    proc, port = team
    before = kernels(proc)
    for path in ("/", "/?token=not-a-real-token-at-all", f"/?token={ALICE[:-1]}"):
        status, headers, body = request(port, path)
        assert status == 302 and headers["location"].startswith("/login"), (path, status)
    status, _, body = request(port, "/login", method="POST", body="password=wrong-token-value",
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Origin": f"http://127.0.0.1:{port}"})
    assert "set-cookie" not in _ or "username" not in _.get("set-cookie", "")
    time.sleep(1)
    assert kernels(proc) == before


@pytest.mark.parametrize(("host", "origin"), [
    ("evil.example:{port}", None),                 # DNS rebinding: a page on evil.example resolving to 127.0.0.1
    ("evil.example:{port}", "http://evil.example:{port}"),
    ("127.0.0.1:{port}", "http://evil.example:{port}"),
    ("localhost:1", None),
    ("127.0.0.1:{port}", "null"),
])
def test_a_foreign_host_or_origin_gets_nothing_even_with_a_token(team, host: str, origin: str | None) -> None:
    proc, port = team
    before = kernels(proc)
    headers = {"Origin": origin.format(port=port)} if origin else {}
    for path in (f"/?token={ALICE}", "/login", "/voila/static/voila.js", f"/api/kernels/x?token={ALICE}"):
        status, _, body = request(port, path, host=host.format(port=port), headers=headers)
        assert (status, body) == (403, "forbidden\n"), (path, status)
    assert kernels(proc) == before


def test_each_reviewer_s_page_kernel_carries_that_reviewer(team, alice_page, store: Path) -> None:
    proc, port = team
    _, _, alice_pid = alice_page
    env = environment_of(alice_pid)
    assert env["CONVOLAB_JUPYTER_USER"] == "alice"
    assert env["CONVOLAB_DB"] == str(store.resolve())
    assert "JUPYTERHUB_USER" not in env  # the page's reviewer, not the server's owner
    before = kernels(proc)
    status, _, body = request(port, f"/?token={BOB}")
    assert status == 200 and "application/vnd.jupyter.widget-view+json" in body
    (bob_pid,) = kernels(proc) - before
    assert environment_of(bob_pid)["CONVOLAB_JUPYTER_USER"] == "bob"


def test_the_kernel_websocket_needs_the_token_and_the_server_s_own_origin(team, alice_page) -> None:
    _, port = team
    kernel_id, cookie, _ = alice_page
    path = f"/api/kernels/{kernel_id}/channels"
    own = f"http://127.0.0.1:{port}"
    assert websocket(port, path, {"Origin": own}) == 403                               # no token
    assert websocket(port, f"{path}?token=wrong-token-0123456789", {"Origin": own}) == 403
    assert websocket(port, f"{path}?token={ALICE}", {"Origin": "http://evil.example:1"}) == 403
    assert websocket(port, f"{path}?token={ALICE}", {"Origin": f"http://evil.example:{port}",
                                                     "Host": f"evil.example:{port}"}) == 403
    assert websocket(port, path, {"Origin": "null", "Cookie": cookie}) == 403
    # The same requests from the page itself open the kernel (so the refusals above are real).
    assert websocket(port, path, {"Origin": own, "Cookie": cookie}) == 101
    assert websocket(port, f"{path}?token={ALICE}", {"Origin": own}) == 101


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_and_every_kernel(store: Path, tmp_path: Path, signum: int) -> None:
    log = tmp_path / "serve.log"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "convolab", "serve", "qa_review", "--db", str(store),
                             "--port", str(port), "--no-browser"],
                            cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        deadline = time.monotonic() + 30
        while "?token=" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        token = re.search(r"\?token=(\S+)", log.read_text())[1]  # generated and printed
        status, _, _ = request(port, f"/?token={token}")
        assert status == 200
        below = descendants(proc.pid)
        assert any("ipykernel" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace") for p in below)
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    assert [pid for pid in below if alive(pid)] == []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def test_a_taken_port_is_one_line_and_no_server(store: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "convolab", "serve", "--db", str(store), "--port", str(port),
                               "--no-browser", "--token", "t" * 20], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            f"error: port {port} on 127.0.0.1 is already in use; stop what holds it or choose another with --port"]
        # The server itself refuses too (a port taken between the CLI's check and the bind).
        code = ("import sys; from pathlib import Path; from convolab.dashboards import dashboard_path;"
                " from convolab.dashboards.server import PortInUse, ServerOptions, serve\n"
                "try:\n    serve(ServerOptions(notebook=dashboard_path('qa_review'), port=int(sys.argv[1]),"
                " token='t' * 20))\nexcept PortInUse as exc:\n    print('refused:', exc)")
        raced = subprocess.run([sys.executable, "-c", code, str(port)], capture_output=True, text=True,
                               timeout=120, cwd=tmp_path)
    assert raced.stdout.startswith(f"refused: port {port} on 127.0.0.1 is already in use"), raced.stderr


def test_a_page_that_has_gone_is_shut_down_after_the_reconnect_window(store: Path, tmp_path: Path) -> None:
    """Kernels are kept for pages that are still connected, however quiet, and shut down once their
    page has been gone for the window (here 15 s; 600 s by default)."""
    proc, port = start_serve("qa_review", store, tmp_path / "serve.log", extra=("--reconnect-window", "15"))
    try:
        before = kernels(proc)
        status, _, body = request(port, f"/?token={TOKEN}")
        assert status == 200
        kept_id = json.loads(re.search(r'id="jupyter-config-data" type="application/json">(.*?)</script>',
                                       body, re.S)[1])["kernelId"]
        (kept,) = kernels(proc) - before

        async def stay_connected() -> None:
            from tornado.httpclient import HTTPRequest
            from tornado.websocket import websocket_connect

            conn = await websocket_connect(HTTPRequest(
                f"ws://127.0.0.1:{port}/api/kernels/{kept_id}/channels?token={TOKEN}",
                headers={"Origin": f"http://127.0.0.1:{port}"}))
            before_gone = kernels(proc)
            status, _, _ = await asyncio.to_thread(request, port, f"/?token={TOKEN}")  # a page nobody connects to
            assert status == 200
            (gone,) = kernels(proc) - before_gone
            deadline = time.monotonic() + 90
            while alive(gone) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            assert not alive(gone), "a page that never connected kept its kernel"
            assert alive(kept), "a connected page lost its kernel"
            conn.close()

        run_async(stay_connected())
    finally:
        stop(proc)


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "nope"], "unknown dashboard 'nope'"),
    (["serve", "--token", "short"], "--token needs at least 16 characters"),
    (["serve", "--token", "t" * 20, "--users", "team.yml"], "either --token or --users"),
    (["serve", "--users", "missing.yml"], "no such reviewers file"),
    (["serve", "--token", "t" * 20, "--db", "none.duckdb"], "no store at none.duckdb"),
])
def test_serve_mistakes_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                     message: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONVOLAB_SERVE_TOKEN", raising=False)
    monkeypatch.delenv("CONVOLAB_SERVE_USERS", raising=False)
    (tmp_path / "team.yml").write_text(f"alice: {ALICE}\n")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
