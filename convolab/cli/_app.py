"""The typer application shared by every CLI command module, and its helpers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

app = typer.Typer(
    name="convolab",
    help="Review, measure and act on conversations between AI agents and customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Human-readable output goes to stderr-safe rich console on stdout; --json output is
# printed with print_json so scripts get exactly one JSON document on stdout.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DB_HELP = "DuckDB store file (default: $CONVOLAB_DB or data/convolab.duckdb)."

# Options every command spells the same way.
DbOption = Annotated[Path | None, typer.Option("--db", help=DB_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line to stderr and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def print_json(document: Any) -> None:
    """Write one JSON document to stdout for scripts."""
    sys.stdout.write(json.dumps(document, default=str, ensure_ascii=False) + "\n")


def resolve_db(db: Path | None) -> Path:
    """The store path: explicit option, then $CONVOLAB_DB, then data/convolab.duckdb."""
    from convolab.store import default_db_path

    return Path(db) if db is not None else default_db_path()


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal (never in CI logs or --json)."""
    from convolab import settings

    return sys.stderr.isatty() and not settings.current().ci


#: Seconds a command keeps trying while another process writes to a file store: a dashboard
#: page holds the file for the milliseconds of one click, so a command that meets a click
#: waits for it; one that meets a long holder (an ingest) then says who holds it.
STORE_WAIT_S = 5.0


def open_store(db: Path | None, *, must_exist: bool = True, wait: float = STORE_WAIT_S) -> Any:
    """Open the store a command names; a missing store or a bad file is one clear line.

    ``wait``: seconds to keep trying while another process writes to a file store.
    """
    import convolab
    from convolab.errors import ConvolabError

    path = resolve_db(db)
    if must_exist and not path.exists():
        fail(f"{path}: no such store; load data first with `convolab ingest FILE --db {path}`")
    try:
        return convolab.open(path, wait=wait)
    except ConvolabError as exc:
        fail(str(exc))
