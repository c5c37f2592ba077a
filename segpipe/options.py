"""The options of the commands that also run without typer, declared once.

`segpipe top` and `segpipe run` are short commands run often, and importing
typer costs ~35 ms before any work (benchmarks/startup.py). So the console
script (entry.py) parses a plain `segpipe top …` / `segpipe run …` itself, and
cli.py builds the typer commands for them — from these same declarations, so
the two cannot drift: a flag, its keyword, its type, its default and its help
exist once. Each command is one library function called as
`function(echo, **options)` by both.

This module imports nothing heavy: entry.py reads it on every start-up.
Other commands are plain typer commands in cli.py; the shared options below
(PROJECT_DIR, DB, …) are what they use too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Option:
    """One command-line option: `--flag VALUE` (or a flag alone when `type` is bool)."""

    flags: tuple[str, ...]
    name: str  # the keyword the command's function takes
    type: type  # str, int, Path, or bool for a flag (default False, no value)
    default: object = None
    help: str = ""


@dataclass(frozen=True)
class Command:
    """A command run without typer when its command line is plain (see entry.py)."""

    name: str
    function: str  # "module:function", called as function(echo, **options)
    options: tuple[Option, ...]
    help: str  # the command's --help: a summary, then an example

    def call(self, echo, **values):
        import importlib

        module, _, function = self.function.partition(":")
        return getattr(importlib.import_module(module), function)(echo, **values)


PROJECT_DIR = Option(("--project-dir",), "project_dir", Path,
                     help="Project folder (default: the current folder or the nearest parent holding project.yml).")
DB = Option(("--db",), "db", str, help="Database file to use instead of project.yml's (also $SEGPIPE_DB).")
AS_OF = Option(("--as-of",), "as_of", str, help="Last day of the window, YYYY-MM-DD (default: today in UTC).")
DAYS = Option(("--days",), "days", int, 30, "Window length in whole UTC days, 1-365.")
SELECT = Option(("--select", "-s"), "select", str, help="Models to use: name, +name, name+, path/ (space-separated).")
VARS = Option(("--vars",), "vars_", str, help="Override project vars: a YAML/JSON mapping, e.g. '{days: 7}'.")
FORMAT = Option(("--format",), "output_format", str, "table",
                "Output: table, json, csv, or (with --output) parquet or xlsx.")
OUTPUT = Option(("--output", "-o"), "output", Path, help="Write to this file instead of stdout.")
METRIC = Option(("--metric",), "metric", str, "reply_rate",
                "reply_rate, open_rate, bounce_rate, click_rate or conversion_rate.")
RANK_BY = Option(("--rank-by",), "rank_by", str, "rate", "rate, wilson (95% Wilson bound) or shrunk (empirical Bayes).")
WORKSPACE_ID = Option(("--workspace-id",), "workspace_id", int, None,
                      "Only segments of this workspace (global segments are left out).")

TOP = Command("top", "segpipe.top:show", (
    PROJECT_DIR, DB, DAYS, METRIC,
    Option(("--limit",), "limit", int, 5, "How many segments to show."),
    WORKSPACE_ID, AS_OF,
    Option(("--min-sent",), "min_sent", int, 1, "Leave out segments with fewer sends in the window."),
    FORMAT, OUTPUT, RANK_BY,
), """Rank segments by a rate over the last N days, from the published database.

    Example: segpipe top --days 90 --metric open_rate --rank-by wilson --format json
    """)

RUN = Command("run", "segpipe.pipeline:run_command", (
    PROJECT_DIR, DB, SELECT,
    Option(("--full-refresh",), "full_refresh", bool, False,
           "Rebuild every model from scratch, ignoring incremental state."),
    VARS, AS_OF,
    Option(("--engine",), "engine", str, None,
           "Build on duckdb or spark for this run (default: project.yml's engine)."),
    # `--wait` alone (no SECONDS) is rewritten to `--wait=forever` by cli.optional_values
    Option(("--wait",), "wait", str, help="When another run is building, wait for it (up to SECONDS; alone: as "
           "long as it takes) instead of stopping with exit code 75."),
), """Load sources, build every model in order, run the data tests, publish atomically.

    Example: segpipe run --vars '{attribution: campaign}' --as-of 2025-01-31
    """)

#: the commands entry.py may run without typer
FAST_COMMANDS = {command.name: command for command in (TOP, RUN)}
