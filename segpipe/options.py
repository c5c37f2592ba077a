"""The arguments and options of the commands that also run without typer, declared once.

`segpipe top`, `segpipe run` and the analyses are short commands run often, and
importing typer costs ~35-65 ms before any work (benchmarks/startup.py). So the
console script (entry.py) parses a plain `segpipe top …` (or run, trend, compare,
variants, best-time) itself, and cli.py builds the typer commands for them — from
these same declarations, so the two cannot drift: an argument or flag, its
keyword, its type, its default and its help exist once. Each command is one
library function called as `function(echo, **values)` by both.

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
class Argument:
    """One positional argument: text, required, optional (`[SEGMENT]`) or one or more (`SEGMENT...`)."""

    name: str
    metavar: str
    help: str
    many: bool = False  # one or more values, as a list
    optional: bool = False  # may be left out (default None)


@dataclass(frozen=True)
class Command:
    """A command run without typer when its command line is plain (see entry.py)."""

    name: str
    function: str  # "module:function", called as function(echo, **values)
    options: tuple[Option, ...]
    help: str  # the command's --help: a summary, then an example
    arguments: tuple[Argument, ...] = ()  # before the options, in this order

    def call(self, echo, **values):
        import importlib

        module, _, function = self.function.partition(":")
        return getattr(importlib.import_module(module), function)(echo, **values)


PROJECT_DIR = Option(("--project-dir",), "project_dir", Path,
                     help="Project folder (default: the current folder or the nearest parent holding project.yml).")
DB = Option(("--db",), "db", str, help="Database file to use instead of project.yml's (also $SEGPIPE_DB).")
AS_OF = Option(("--as-of",), "as_of", str, help="Last day of the window, YYYY-MM-DD (default: today in UTC).")
#: --as-of of the commands that render the models, where project.yml's vars.as_of comes first
BUILD_AS_OF = Option(("--as-of",), "as_of", str,
                     help="Last day of the window, YYYY-MM-DD (default: vars.as_of in project.yml, else today in UTC).")
DAYS = Option(("--days",), "days", int, 30, "Window length in whole UTC days, 1-365.")
SELECT = Option(("--select", "-s"), "select", str, help="Models to use: name, +name, name+, path/ (space-separated).")
VARS = Option(("--vars",), "vars_", str, help="Override project vars: a YAML/JSON mapping, e.g. '{days: 7}'.")
FORMAT = Option(("--format",), "output_format", str, None,
                "Output: table (the default), json, csv, or (with --output) parquet or xlsx; without "
                "--format, an --output file's extension (.csv, .json, .parquet, .xlsx) chooses.")
#: --format of a command without --output (why, ls)
TEXT_FORMAT = Option(("--format",), "output_format", str, "table", "Output: table, json or csv.")
OUTPUT = Option(("--output", "-o"), "output", Path, help="Write to this file instead of stdout (- is stdout).")
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
    VARS, BUILD_AS_OF,
    Option(("--engine",), "engine", str, None,
           "Build on duckdb or spark for this run (default: project.yml's engine)."),
    # `--wait` alone (no SECONDS) is rewritten to `--wait=forever` by cli.optional_values
    Option(("--wait",), "wait", str, help="When another run is building, wait for it (up to SECONDS; alone: as "
           "long as it takes) instead of stopping with exit code 75."),
), """Load sources, build every model in order, run the data tests, publish atomically.

    Example: segpipe run --vars '{attribution: campaign}' --as-of 2025-01-31
    """)

SEGMENT = Argument("segment", "SEGMENT", "Segment id or exact name.")
ANALYSIS_OPTIONS = (DAYS, AS_OF, METRIC, WORKSPACE_ID, FORMAT, OUTPUT)

TREND = Command("trend", "segpipe.analyses.commands:trend", (
    PROJECT_DIR, DB,
    Option(("--by",), "by", str, "week", "Period: day, week (from Monday) or month, in UTC."),
    *ANALYSIS_OPTIONS,
), """A rate per day, week or month with its 95 % Wilson interval, for one or more segments.

    Example: segpipe trend 1 "EU CMOs" --by month --days 180
    """, (Argument("segments", "SEGMENT...", "Segment ids or exact names.", many=True),))

BEST_TIME = Command("best-time", "segpipe.analyses.commands:best_time", (
    PROJECT_DIR, DB,
    Option(("--by",), "by", str, "hour", "Bucket: hour, weekday or weekday-hour, local to --tz."),
    Option(("--tz",), "tz", str, "UTC", "IANA time zone of the hours and weekdays, e.g. Europe/Berlin."),
    Option(("--min-sent",), "min_sent", int, 30, "Fewest sends a bucket needs to be the best."),
    *ANALYSIS_OPTIONS,
), """The rate by local hour or weekday, with 95 % intervals, and the best bucket.

    Example: segpipe best-time 1 --tz America/New_York --by weekday-hour --days 90
    """, (Argument("segment", "[SEGMENT]", "Segment id or exact name (default: every segment in scope).",
                   optional=True),))

COMPARE = Command("compare", "segpipe.analyses.commands:compare", (PROJECT_DIR, DB, *ANALYSIS_OPTIONS), """\
Compare two segments' rate: the difference, its 95 % interval and whether it is significant.

    Example: segpipe compare "US SaaS Founders" 7 --days 90 --metric reply_rate
    """, (Argument("a", "A", "Segment id or exact name."), Argument("b", "B", "Segment id or exact name.")))

VARIANTS = Command("variants", "segpipe.analyses.commands:variants", (
    PROJECT_DIR, DB,
    Option(("--campaign",), "campaign", int, None, "Only this campaign's variants."),
    *ANALYSIS_OPTIONS,
), """A/B variants of the campaigns that sent to a segment: each against its campaign's control.

    Example: segpipe variants "US SaaS Founders" --campaign 3 --days 90
    """, (SEGMENT,))

EXPORT = Command("export", "segpipe.analyses.commands:export", (
    Option(("--top",), "top", int, None, "With TABLE 'leads': the leads of the top N segments, ranked as `segpipe top`."),
    Option(("--format",), "output_format", str, None,
           "csv (the default), parquet or xlsx; without --format, an --output file's extension chooses."),
    OUTPUT, DAYS, AS_OF, METRIC, WORKSPACE_ID,
    Option(("--min-sent",), "min_sent", int, 1, "With --top: leave out segments with fewer sends in the window."),
    RANK_BY, PROJECT_DIR, DB,
), """Write a published table, or the leads of the top N segments, to CSV, Parquet or XLSX.

    Example: segpipe export leads --top 3 --rank-by wilson --format xlsx --output leads.xlsx
    """, (Argument("table", "TABLE", "A published table (e.g. segment_performance_daily), or 'leads' with --top."),))

#: the commands entry.py may run without typer
FAST_COMMANDS = {command.name: command for command in (TOP, RUN, TREND, BEST_TIME, COMPARE, VARIANTS, EXPORT)}
