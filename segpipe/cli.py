"""The `segpipe` command line: parse options, call one library function, report.

A `SegpipeError` becomes one line `Error: …` on stderr and its exit code (2 for
usage/configuration, 1 for run and data-test failures); `--debug` shows the
traceback instead. Heavy modules (duckdb, jinja2) are imported inside the
commands so `segpipe --help` stays quick.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import ConfigError, SegpipeError

app = typer.Typer(
    help="Which lead segments actually work: build the segment pipeline into DuckDB and rank segments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ProjectDir = Annotated[Optional[Path], typer.Option("--project-dir", help="Project folder (default: the current folder or the nearest parent holding project.yml).")]
Db = Annotated[Optional[str], typer.Option("--db", help="Database file to use instead of project.yml's (also $SEGPIPE_DB).")]
AsOf = Annotated[Optional[str], typer.Option("--as-of", help="Last day of the window, YYYY-MM-DD (default: today in UTC).")]
Select = Annotated[Optional[str], typer.Option("--select", "-s", help="Models to use: name, +name, name+, path/ (space-separated).")]
Format = Annotated[str, typer.Option("--format", help="Output: table, json or csv.")]


def _debug() -> bool:
    return os.environ.get("SEGPIPE_DEBUG", "") not in ("", "0")


def reports_errors(command):
    """Turn library errors into `Error: …` and an exit code, unless --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SegpipeError as exc:
            if _debug():
                raise
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Error: interrupted — the published database was not changed", err=True)
            raise typer.Exit(code=130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"segpipe {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """segpipe: per segment, how many leads were sent, opened, replied and bounced, ranked.

    Example: segpipe run && segpipe top --days 30 --metric reply_rate
    """
    if debug:
        os.environ["SEGPIPE_DEBUG"] = "1"


def parse_date(value: Optional[str], option: str = "--as-of") -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} must be a date like 2025-01-31, got '{value}'") from None


def parse_vars(text: Optional[str]) -> dict:
    """--vars takes a YAML or JSON mapping, as dbt's does."""
    if not text:
        return {}
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(f"--vars must be a YAML or JSON mapping such as '{{days: 7, attribution: campaign}}', got {text!r}")
    return value


def _project(project_dir, db=None, cli_vars=None):
    from .project import load_project

    return load_project(project_dir, db=db, cli_vars=cli_vars)


@app.command()
@reports_errors
def run(
    project_dir: ProjectDir = None,
    db: Db = None,
    select: Select = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild every model from scratch, ignoring incremental state.")] = False,
    vars_: Annotated[Optional[str], typer.Option("--vars", help="Override project vars: a YAML/JSON mapping, e.g. '{days: 7}'.")] = None,
    as_of: AsOf = None,
) -> None:
    """Load sources, build every model in order, run the data tests, publish atomically.

    Example: segpipe run --vars '{attribution: campaign}' --as-of 2025-01-31
    """
    from .runner import run as run_pipeline

    project = _project(project_dir, db, parse_vars(vars_))
    run_pipeline(project, selection=select, as_of=parse_date(as_of), full_refresh=full_refresh, echo=typer.echo)


@app.command()
@reports_errors
def top(
    project_dir: ProjectDir = None,
    db: Db = None,
    days: Annotated[int, typer.Option("--days", help="Window length in whole UTC days, 1-365.")] = 30,
    metric: Annotated[str, typer.Option("--metric", help="reply_rate, open_rate, bounce_rate, click_rate or conversion_rate.")] = "reply_rate",
    limit: Annotated[int, typer.Option("--limit", help="How many segments to show.")] = 5,
    workspace_id: Annotated[Optional[int], typer.Option("--workspace-id", help="Only segments of this workspace.")] = None,
    as_of: AsOf = None,
    min_sent: Annotated[int, typer.Option("--min-sent", help="Leave out segments with fewer sends in the window.")] = 1,
    output_format: Format = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Rank segments by a rate over the last N days, from the published database.

    Example: segpipe top --days 90 --metric open_rate --format json
    """
    from . import top as ranking

    ranking.check_options(days, metric, limit, min_sent, output_format)
    end = parse_date(as_of) or dt.datetime.now(dt.timezone.utc).date()
    project = _project(project_dir, db)
    window = ranking.Window.ending(end, days)
    con = ranking.connect_published(project.database)
    try:
        rows = ranking.rank_segments(con, window, metric, limit, min_sent, workspace_id)
    finally:
        con.close()
    _emit(ranking.render(window, metric, rows, output_format), output)


def _emit(text: str, output: Optional[Path]) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror}") from None


@app.command()
@reports_errors
def compile(
    project_dir: ProjectDir = None,
    select: Select = None,
    vars_: Annotated[Optional[str], typer.Option("--vars", help="Override project vars: a YAML/JSON mapping.")] = None,
    as_of: AsOf = None,
) -> None:
    """Print the rendered SQL of the selected models (and write it to target/compiled/).

    Example: segpipe compile --select segment_performance
    """
    from .runner import compile_project, write_compiled

    plan = compile_project(_project(project_dir, None, parse_vars(vars_)), as_of=parse_date(as_of), selection=select)
    write_compiled(plan)
    for name in plan.order:
        if name in plan.selected:
            model = plan.models[name]
            typer.echo(f"-- {model.relation} ({plan.project.relpath(model.path)})\n{model.sql.strip()}\n")


def main() -> None:
    """Console-script entry point."""
    app()
