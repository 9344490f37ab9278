"""The typer application shared by every CLI command module, and its helpers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="convolab",
    help="Review, measure and act on conversations between AI agents and customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Human-readable output goes to stderr-safe rich console on stdout; --json output is
# printed with print_json so scripts get exactly one JSON document on stdout.
# markup=False: what is printed holds ids, paths and text from conversations, and rich
# would read "[/x]" in them as a tag (and raise on it); styling is asked for explicitly.
console = Console(highlight=False, markup=False)
err_console = Console(stderr=True, highlight=False, markup=False)

DB_HELP = ("The store: a DuckDB file, or a team store ducklake:sqlite:PATH or ducklake:postgres:CONNINFO"
           " (optionally ?data=FOLDER); default $CONVOLAB_DB or data/convolab.duckdb.")

# Options every command spells the same way. --db is text: a team store's location is no path.
DbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line to stderr and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def print_json(document: Any) -> None:
    """Write one JSON document to stdout for scripts."""
    sys.stdout.write(json.dumps(document, default=str, ensure_ascii=False) + "\n")


def resolve_db(db: str | Path | None) -> Path | str:
    """The store: explicit option, then $CONVOLAB_DB, then data/convolab.duckdb.

    A file store is a :class:`~pathlib.Path`; a team store's location (``ducklake:...``) stays text.
    """
    from convolab import settings
    from convolab.store import is_team_store

    location = str(db) if db is not None else settings.current().db
    return location if is_team_store(location) else Path(location)


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal (never in CI logs or --json)."""
    from convolab import settings

    return sys.stderr.isatty() and not settings.current().ci


#: Seconds a command keeps trying while another process writes to a file store: a dashboard
#: page holds the file for the milliseconds of one click, so a command that meets a click
#: waits for it; one that meets a long holder (an ingest) then says who holds it.
STORE_WAIT_S = 5.0


def open_store(db: str | Path | None, *, must_exist: bool = True, wait: float = STORE_WAIT_S) -> Any:
    """Open the store a command names; a missing store or a bad file is one clear line.

    ``wait``: seconds to keep trying while another process writes to a file store.
    """
    import convolab
    from convolab.errors import ConvolabError
    from convolab.store import store_exists

    path = resolve_db(db)
    if must_exist and not store_exists(path):
        fail(f"{path}: no such store; load data first with `convolab ingest FILE --db {path}`")
    try:
        return convolab.open(path, wait=wait)
    except ConvolabError as exc:
        fail(str(exc))
