"""The `segpipe` command line: parse options, call one library function, report.

A `SegpipeError` becomes one line `Error: …` on stderr and its exit code (2 for
usage/configuration, 1 for run and data-test failures); `--debug` shows the
traceback instead. Click's own usage errors (an unknown option, a non-number
for `--days`) get the same one-line form. Heavy modules (duckdb, jinja2, yaml)
are imported inside the commands so `segpipe --help` and `segpipe top` start
quickly. The console script is segpipe/entry.py: a plain `segpipe top …` or
`segpipe run …` runs there without typer, and every other command line comes here.

A command is a plain typer command: `@app.command()`, `@reports_errors`, options
as `Annotated` parameters (the shared ones below), the docstring as its help.
Only `top` and `run`, which entry.py also runs without typer, are built from
their declarations in options.py (`fast_command`), so both paths read the same
options with the same defaults.
"""


import functools
import inspect
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from . import __version__, options
from .errors import debugging, one_line, single_line

try:  # typer >= 0.26 vendors click; older versions depend on it
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError


class OneLineErrors(TyperGroup):
    """Report click's usage errors as `Error: … (see 'segpipe X --help')`, like ours."""

    def main(self, args=None, *rest, standalone_mode: bool = True, **kwargs):
        args = optional_values(list(sys.argv[1:] if args is None else args))
        if not standalone_mode:
            return super().main(args, *rest, standalone_mode=False, **kwargs)
        try:
            code = super().main(args, *rest, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) else ""
            typer.echo(f"Error: {single_line(exc.format_message())}{where}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def optional_values(args: list[str]) -> list[str]:
    """`segpipe run --wait` with no SECONDS means "as long as it takes": click (as typer
    vendors it) has no option with an optional value, so a bare `--wait` (last, or
    before another option) becomes `--wait=forever` here."""
    if "run" not in args:
        return args
    from .pipeline import WAIT_FOREVER

    start = args.index("run")
    return args[:start] + [
        f"--wait={WAIT_FOREVER}" if word == "--wait" and (i + 1 == len(args) or args[i + 1].startswith("-")) else word
        for i, word in enumerate(args) if i >= start
    ]


app = typer.Typer(
    cls=OneLineErrors,
    name="segpipe",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

def typer_option(option: options.Option):
    """An options.Option as the annotation of a typer command's parameter."""
    kind = option.type if option.default is not None else Optional[option.type]
    return Annotated[kind, typer.Option(*option.flags, help=option.help)]


ProjectDir = typer_option(options.PROJECT_DIR)
Db = typer_option(options.DB)
AsOf = typer_option(options.AS_OF)
BuildAsOf = typer_option(options.BUILD_AS_OF)
Days = typer_option(options.DAYS)
Select = typer_option(options.SELECT)
Vars = typer_option(options.VARS)
Format = typer_option(options.FORMAT)
TextFormat = typer_option(options.TEXT_FORMAT)
Output = typer_option(options.OUTPUT)
Metric = typer_option(options.METRIC)
WorkspaceId = typer_option(options.WORKSPACE_ID)
RankBy = typer_option(options.RANK_BY)
SegmentArg = Annotated[str, typer.Argument(metavar="SEGMENT", help="Segment id or exact name.")]


def reports_errors(command):
    """Turn errors into `Error: …` and an exit code (errors.one_line), unless --debug.

    Ctrl-C is always one line; with --debug anything else shows its traceback first,
    and the exit code stays the one of SPEC §7.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            if debugging() and not isinstance(exc, KeyboardInterrupt):
                import traceback

                traceback.print_exc()
            line, code = one_line(exc)
            if line:
                typer.echo(line, err=True)
            raise typer.Exit(code=code) from None

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


def _project(project_dir, db=None, cli_vars=None):
    from .project import load_project

    return load_project(project_dir, db=db, cli_vars=cli_vars)


def _emit(text: str, output: Optional[Path]) -> None:
    from .output import emit

    emit(text, output, typer.echo)


def typer_argument(argument: options.Argument) -> inspect.Parameter:
    """An options.Argument as a typer command's positional parameter."""
    kind = list[str] if argument.many else Optional[str] if argument.optional else str
    return inspect.Parameter(argument.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                             default=None if argument.optional else inspect.Parameter.empty,
                             annotation=Annotated[kind, typer.Argument(metavar=argument.metavar, help=argument.help)])


def fast_command(command: options.Command) -> None:
    """Add a command of options.FAST_COMMANDS: a typer command whose parameters are its
    declared arguments and options, calling the same function as entry.py's typer-free path."""

    def body(**values) -> None:
        command.call(typer.echo, **values)

    body.__name__ = body.__qualname__ = command.name.replace("-", "_")
    body.__doc__ = command.help
    body.__signature__ = inspect.Signature([
        *map(typer_argument, command.arguments),
        *(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default,
                            annotation=typer_option(option)) for option in command.options)])
    app.command(name=command.name)(reports_errors(body))


for _command in options.FAST_COMMANDS.values():
    fast_command(_command)


@app.command()
@reports_errors
def leads(
    segment: SegmentArg,
    project_dir: ProjectDir = None,
    db: Db = None,
    limit: Annotated[int, typer.Option("--limit", help="How many leads to show (best score first).")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many leads first (for paging).")] = 0,
    output_format: Format = None,
    output: Output = None,
) -> None:
    """List the leads a segment matches now, best score first.

    Example: segpipe leads "US SaaS Founders" --limit 50 --format csv
    """
    from .drilldown import LEAD_COLUMNS, check_leads_options, find_segment, leads_json, segment_leads
    from .output import check_format, chosen_format, formatted, json_text
    from .published import connect_project

    check_leads_options(limit, offset)
    output_format = chosen_format(output_format, output)
    check_format(output_format)
    with connect_project(project_dir, db) as con:
        found = find_segment(con, segment)
        total, rows = segment_leads(con, found, limit, offset)
    _emit(json_text(leads_json(found, total, rows)) if output_format == "json" else
          formatted(output_format, LEAD_COLUMNS, rows,
                    title=f"Segment {found.id} {found.name}: {total} leads, showing {len(rows)}",
                    text_columns=set(LEAD_COLUMNS) - {"lead_id", "workspace_id", "score"}), output)


@app.command()
@reports_errors
def campaigns(
    segment: SegmentArg,
    project_dir: ProjectDir = None,
    db: Db = None,
    days: Days = 30,
    as_of: AsOf = None,
    output_format: Format = None,
    output: Output = None,
) -> None:
    """List the campaigns that sent to a segment in the window, with its outcomes per campaign.

    Example: segpipe campaigns 1 --days 90 --as-of 2025-01-31
    """
    from .drilldown import CAMPAIGN_COLUMNS, campaigns_json, find_segment, segment_campaigns
    from .output import check_format, chosen_format, formatted, json_text
    from .published import connect_project
    from .top import window_ending

    output_format = chosen_format(output_format, output)
    check_format(output_format)
    window = window_ending(as_of, days)
    with connect_project(project_dir, db) as con:
        found = find_segment(con, segment)
        attribution, rows = segment_campaigns(con, found, window)
    _emit(json_text(campaigns_json(found, attribution, window, rows)) if output_format == "json" else
          formatted(output_format, CAMPAIGN_COLUMNS, rows,
                    title=f"Campaigns that sent to segment {found.id} {found.name}, {window.describe()}, {attribution} attribution",
                    text_columns={"campaign_name"}, empty="(no sends in this window)"), output)


@app.command()
@reports_errors
def serve(
    project_dir: ProjectDir = None,
    db: Db = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default 127.0.0.1: this machine only).")] = None,
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8000,
    tokens: Annotated[Optional[Path], typer.Option("--tokens", help="YAML file mapping each API token to its workspace ids or 'all'.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes, each reading the published file read-only.")] = 1,
) -> None:
    """Serve the HTTP API and dashboard widget over the published database (read-only).

    Example: segpipe serve --port 8000 --tokens tokens.yml
    """
    from .serve.command import serve_command

    serve_command(typer.echo, project_dir=project_dir, db=db, host=host, port=port, tokens=tokens, workers=workers)


@app.command()
@reports_errors
def why(
    segment: SegmentArg,
    lead_id: Annotated[int, typer.Argument(metavar="LEAD_ID", help="The lead's id.")],
    project_dir: ProjectDir = None,
    db: Db = None,
    output_format: TextFormat = "table",
) -> None:
    """Explain why a lead is or is not in a segment: each rule, the lead's value, pass or fail.

    Example: segpipe why "US SaaS Founders" 42
    """
    from .output import TEXT_FORMATS, check_format
    from .published import connect_project
    from .why import explain, render

    check_format(output_format, formats=TEXT_FORMATS)
    with connect_project(project_dir, db) as con:
        result = explain(con, segment, lead_id)
    _emit(render(result, output_format), None)


@app.command()
@reports_errors
def compile(
    project_dir: ProjectDir = None,
    select: Select = None,
    vars_: Vars = None,
    as_of: BuildAsOf = None,
) -> None:
    """Print the rendered SQL of the selected models (and write it to target/compiled/).

    Example: segpipe compile --select segment_performance
    """
    from . import target
    from .pipeline import compile_plan
    from .project import parse_date
    from .yaml_files import parse_vars

    plan = compile_plan(_project(project_dir, None, parse_vars(vars_)), as_of=parse_date(as_of), selection=select)
    # as dbt's compile --select: only what was asked for (written in run's order, printed in build order)
    target.write_compiled(plan.project, [model for name, model in plan.models.items() if name in plan.selected])
    for model in (plan.models[name] for name in plan.order if name in plan.selected):
        typer.echo(f"-- {model.relation} ({plan.project.relpath(model.path)})\n{model.sql.strip()}\n")


@app.command()
@reports_errors
def test(
    project_dir: ProjectDir = None,
    db: Db = None,
    select: Select = None,
) -> None:
    """Run the data tests of the selected models against the published database.

    Example: segpipe test --select +segment_performance
    """
    from .pipeline import test_published

    test_published(_project(project_dir, db), selection=select, echo=typer.echo)


@app.command(name="ls")
@reports_errors
def ls(
    project_dir: ProjectDir = None,
    select: Select = None,
    output_format: TextFormat = "table",
) -> None:
    """List sources, seeds, models and macros with their relation, dependencies and origin (builtin or a file).

    Example: segpipe ls --select +segment_performance
    """
    from .listing import COLUMNS, list_nodes
    from .output import TEXT_FORMATS, check_format, formatted
    from .pipeline import compile_plan

    check_format(output_format, formats=TEXT_FORMATS)
    rows = list_nodes(compile_plan(_project(project_dir), selection=select), selected_only=bool(select))
    _emit(formatted(output_format, COLUMNS, rows, text_columns=set(COLUMNS)), None)


@app.command()
@reports_errors
def clean(
    project_dir: ProjectDir = None,
    db: Db = None,
) -> None:
    """Delete target/ and the build files of runs that died; never the published database.

    Example: segpipe clean --project-dir my_segments
    """
    from . import target
    from .clean import clean_project
    from .project import find_project_dir

    target_existed = target.folder(find_project_dir(project_dir)).exists()
    for line in clean_project(_project(project_dir, db), target_existed):
        typer.echo(line)


@app.command()
@reports_errors
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to create (must be new or empty).")],
) -> None:
    """Create a new project: project.yml, an example model, example seeds and segments.yml.

    Example: segpipe init my_segments && segpipe run --project-dir my_segments
    """
    from .scaffold import init_project

    files = init_project(directory)
    typer.echo(f"Created {directory} ({len(files)} files). Next:\n"
               f"  segpipe run --project-dir {directory}\n"
               f"  segpipe top --project-dir {directory}\n"
               f"Then replace seeds/*.csv with your exports and edit seeds/segments.yml.")


def main() -> None:
    """Console-script entry point."""
    app()
