"""``convolab migrate``: move a store between backends (a DuckDB file, a team store in DuckLake)."""

from __future__ import annotations

from typing import Annotated

import typer

from convolab.cli._app import JsonOption, app, console, fail, print_json


@app.command("migrate")
def migrate(
    source: Annotated[str, typer.Option("--from", help="The store to copy: a DuckDB file or ducklake:... location.")],
    target: Annotated[str, typer.Option("--to", help="Where to copy it (created if missing).")],
    force: Annotated[bool, typer.Option("--force", help="Replace what the target already holds.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Copy a store into another, either way between a file and a team store.

    Conversations, flags, decisions, the audit log, emotion scores and live calls are
    copied in one transaction; the target must be empty unless --force is given.

    Example: convolab migrate --from data/convolab.duckdb --to ducklake:sqlite:/srv/convolab/catalog.sqlite
    """
    from convolab.errors import ConvolabError
    from convolab.store import copy_store

    try:
        copied = copy_store(source, target, force=force)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json({"from": source, "to": target, "rows": copied})
        return
    total = sum(copied.values())
    console.print(f"copied {copied.get('conversations', 0):,} conversations ({total:,} rows in {len(copied)} tables)"
                  f" into {target}")
