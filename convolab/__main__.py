"""``python -m convolab`` runs the CLI."""

from convolab.cli import main

main()
