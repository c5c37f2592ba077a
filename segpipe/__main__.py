"""`python -m segpipe` runs the CLI as the console script does (used by tests that start a real process)."""

from .entry import main

main()
