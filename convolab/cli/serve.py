"""``convolab serve``: publish a dashboard on 127.0.0.1 behind a token; ``convolab users``: reviewers' tokens.

The server runs in this process (see :mod:`convolab.dashboards.server`):
SIGTERM, SIGINT or SIGHUP stop it and every page kernel it started.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from convolab import settings
from convolab.cli._app import DbOption, app, console, fail, resolve_db
from convolab.errors import ConvolabError

__all__ = ["serve", "users_app"]

DEFAULT_PORT = 8866

UsersOption = Annotated[Path | None, typer.Option(
    "--users", help="Reviewers file: one token per reviewer, each page records its reviewer "
                    "(default: $CONVOLAB_SERVE_USERS). See `convolab users add`.")]


@app.command()
def serve(
    dashboard: Annotated[str, typer.Argument(help="The dashboard: qa_review, live_monitor, ...")] = "qa_review",
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    token: Annotated[str | None, typer.Option(
        "--token", help="The token pages need (default: $CONVOLAB_SERVE_TOKEN, else a new one, printed).")] = None,
    users: UsersOption = None,
    reconnect_window: Annotated[float, typer.Option(
        "--reconnect-window", min=1,
        help="Seconds a page's kernel waits for a dropped connection to come back.")] = 600.0,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
) -> None:
    """Serve a dashboard on 127.0.0.1, protected by a token (or one token per reviewer with --users)."""
    from convolab.dashboards import dashboard_path
    from convolab.dashboards.reviewers import MIN_TOKEN_LENGTH, Reviewers, new_token
    from convolab.dashboards.server import PortInUse, ServerOptions
    from convolab.dashboards.server import serve as run_server
    from convolab.store import current_actor

    try:
        notebook = dashboard_path(dashboard)
    except ConvolabError as exc:
        fail(str(exc))
    if not _has_voila():
        fail("voila is not installed: pip install 'convolab[widgets]'")
    config = settings.current()
    users = users or (Path(config.serve_users) if config.serve_users else None)
    token = token or config.serve_token
    if users is not None and token is not None:
        fail("give either --token or --users, not both")
    reviewers = None
    if users is not None:
        try:
            reviewers = Reviewers.load(users)
        except ConvolabError as exc:
            fail(str(exc))
    generated = reviewers is None and token is None
    if generated:
        token = new_token()
    elif reviewers is None and len(token) < MIN_TOKEN_LENGTH:
        fail(f"--token needs at least {MIN_TOKEN_LENGTH} characters")
    target = _store_target(db)
    if target is None:
        fail(f"no store at {resolve_db(db)}; create one with `convolab ingest` or `convolab generate`")
    if not _port_free(port):
        fail(str(PortInUse(port)))

    def ready(url: str) -> None:
        if reviewers is not None:
            console.print(f"Serving {dashboard} on {url} (store {target}) for {', '.join(reviewers.names)}:"
                          f" each opens {url}?token=THEIR_TOKEN. Ctrl-C stops it.", markup=False, soft_wrap=True)
        else:
            # A token the user chose is not echoed; a generated one must be, or nobody could get in.
            shown = token if generated else "<your token>"
            console.print(f"Serving {dashboard} on {url}?token={shown} (store {target}). Ctrl-C stops it.",
                          markup=False, soft_wrap=True)

    options = ServerOptions(
        notebook=notebook, port=port, token=None if reviewers is not None else token, reviewers=reviewers,
        owner=current_actor(), open_browser=not no_browser, reconnect_window=reconnect_window,
        environment={"CONVOLAB_DB": target},
    )
    try:
        run_server(options, on_ready=ready)
    except ConvolabError as exc:  # the port was taken between the check and the bind
        fail(str(exc))


def _store_target(db: Path | None) -> str | None:
    """What the page kernels open: a team-store URL as given, a store file as an absolute path
    (kernels run in the dashboards folder); ``None`` when the file does not exist."""
    raw = str(db) if db is not None else settings.current().db
    if raw.startswith("ducklake:"):
        return raw
    path = resolve_db(db)
    return str(path.resolve()) if path.exists() else None


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:PORT can be bound now (the server binds it again right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _has_voila() -> bool:
    try:
        import voila  # noqa: F401
    except ImportError:
        return False
    return True


users_app = typer.Typer(help="Reviewers' tokens for `convolab serve --users`.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The reviewer's name, as the audit log will show it.")],
    users: Annotated[Path, typer.Option("--users", help="The reviewers file (created if missing).")] = Path(
        "reviewers.yml"),
) -> None:
    """Give a reviewer a new token (printed once; the file keeps only its digest)."""
    from convolab.dashboards.reviewers import add_reviewer

    try:
        token = add_reviewer(users, name)
    except ConvolabError as exc:
        fail(str(exc))
    console.print(f"{name}: {token}", markup=False, soft_wrap=True)
    console.print(f"(written to {users}; shown only now: {name} opens the dashboard with ?token=<this token>)",
                  markup=False, soft_wrap=True)


@users_app.command("list")
def users_list(
    users: Annotated[Path, typer.Option("--users", help="The reviewers file.")] = Path("reviewers.yml"),
) -> None:
    """The reviewers who have a token."""
    from convolab.dashboards.reviewers import Reviewers

    try:
        names = Reviewers.load(users).names
    except ConvolabError as exc:
        fail(str(exc))
    for name in names:
        console.print(name, markup=False)
