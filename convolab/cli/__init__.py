"""The ``convolab`` command line: one module per domain, all on one typer app.

User mistakes (a missing file, an unknown conversation, a bad criteria file)
print one clear line to stderr and exit non-zero; only real bugs show a traceback.
"""

from __future__ import annotations

import importlib
import sys

from rich.markup import escape

from convolab.cli._app import app, err_console

__all__ = ["app", "main"]

# Each module registers its commands on import. Optional ones (whose extras or
# code may be absent) are skipped so the core commands always work.
_COMMAND_MODULES = ("conversations", "emotions", "flags", "review", "serve", "live", "audio", "reports", "stores")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"convolab.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"convolab.cli.{_name}":
            raise


def main() -> None:
    """Entry point of the ``convolab`` script."""
    from convolab.errors import ConvolabError

    try:
        app()
    except ConvolabError as exc:  # a user-facing problem raised below the command layer
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
