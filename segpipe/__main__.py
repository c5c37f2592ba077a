"""`python -m segpipe` runs the CLI (used by tests that start a real process)."""

from .cli import main

main()
