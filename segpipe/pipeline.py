"""segpipe's pipeline: the engine's build, with the segments and the contract in it.

The engine (plan, runner) builds any project of Jinja SQL models; it knows
nothing of segments. This module hands it what the segment product adds: the
validated segments as the computed source `src.segments`, and the Jinja
functions the built-in models call to turn them into SQL, and the check that the
built file still holds what the commands read (contract.py). `compile`, `run`
and `test` all go through here, so every command sees the same build.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from . import __version__, contract, membership
from .changes import digest, read_fingerprints
from .errors import ConfigError
from .interrupt import stop_signals_held, stoppable
from .plan import ComputedSource, Plan, compile_project
from .project import Project, load_project, parse_date
from .yaml_files import parse_vars
from .published import connect_with_sources
from .render import DEFAULT_SCHEMA
from .runner import ENGINE_NODE, Progress, run_data_tests
from .runner import run as run_plan
from .segments import Segment, load_segments, segment_predicate, write_segments_table
from .wording import plural


def segment_context(segments: list[Segment], engine: str = "duckdb") -> dict:
    """What models may call to use the segments (all values quoted): the segments as
    data, one segment's predicate, and the whole lead → segment ids query."""
    return {
        "segments": segments,
        "segment_predicate": segment_predicate,
        "segment_membership": partial(membership.segment_membership_by_predicates if engine == "spark"
                                      else membership.segment_membership, segments),
        **{name: partial(_retired, name) for name in RETIRED},
    }


#: what lead_segments.sql called before segment_membership(); a project may still hold a copy
RETIRED = ("filter_vocabulary", "segment_masks", "tag_masks", "word_segment_ids", "mask_columns")


def _retired(name: str, *args, **kwargs):
    raise ValueError(f"{name}() is gone: the whole lead → segment ids query is now "
                     "{{ segment_membership(ref('stg_leads')) }} — use that (or delete your copy of "
                     "models/internal/lead_segments.sql to use the built-in one)")


def segments_source(segments: list[Segment]) -> ComputedSource:
    """`src.segments`, rebuilt when a segment's definition changes, or segpipe's version (a
    release may write the table differently, as file sources are reloaded then too)."""
    return ComputedSource("segments", digest(__version__, [vars(s) for s in segments]),
                          partial(write_segments_table, segments=segments))


def compile_plan(project: Project, *, as_of: dt.date | None = None, selection: str | None = None) -> Plan:
    """The project compiled with its segments; no database opened."""
    segments = load_segments(project)
    return compile_project(project, as_of=as_of, selection=selection, context=segment_context(segments, project.engine.type),
                           computed_sources=[segments_source(segments)])


def run(project: Project, *, selection: str | None = None, as_of: dt.date | None = None,
        full_refresh: bool = False, echo=print, wait: float = 0) -> dict:
    """`segpipe run` on a loaded project: compile, then build, test and publish (runner.run)."""
    plan = compile_plan(project, as_of=as_of, selection=selection)
    return run_plan(plan, full_refresh=full_refresh, echo=echo, verify=check_contract, wait=wait)


def check_contract(con, plan: Plan, model: str | None) -> None:
    """The relations `model` built (every one when None) hold the columns segpipe's commands
    read (contract.py): a replaced model that broke them stops the run before the models
    built on it fail with a less telling error."""
    relations = [r for r in contract.RELATIONS if model is None or r.model == model]
    if relations:
        contract.check(con, relations, origin_of=lambda name: plan.project.relpath(plan.models[name].path)
                       if name in plan.models else None)


def test_published(project: Project, *, selection: str | None = None, echo=print) -> None:
    """`segpipe test`: run the data tests against the published file, read-only.

    Raises DataTestError (exit 1) when a test of error severity fails; warnings only print.
    """
    plan = compile_plan(project, selection=selection)
    models = None
    if read_fingerprints(project.database).get(ENGINE_NODE) == "spark":
        models = {name for name in plan.selected if plan.models[name].schema == DEFAULT_SCHEMA}
        echo("Built on Spark: testing the published tables (staging and internal relations stayed on Spark)")
    con = connect_with_sources(project, warn=echo)
    progress = Progress(echo)
    try:
        run_data_tests(con, plan, progress, models, consequence=f"in {project.relpath(project.database)}")
    finally:
        con.close()
    echo(f"Done: {progress.count('test', 'pass')} of {plural(len(progress.results), 'data test')} passed, "
         f"{plural(progress.count('test', 'warn'), 'warning')}")


def run_command(echo, *, project_dir: Path | None = None, db: str | None = None, select: str | None = None,
                full_refresh: bool = False, vars_: str | None = None, as_of: str | None = None,
                wait: str | None = None, engine: str | None = None) -> dict:
    """`segpipe run` from its command-line values: the body of the typer command (cli.run)
    and of the console script's typer-free path (entry.py), so both behave alike. SIGTERM is one
    line from the start, as Ctrl-C is, not only once the build begins (compiling takes a while)."""
    with stop_signals_held():  # entry.py holds them already for the console script
        import duckdb  # noqa: F401  first: interrupted while its C++ module initialises, the process may crash

        with stoppable():
            seconds = parse_wait(wait)
            project = load_project(project_dir, db=db, cli_vars=parse_vars(vars_), engine=engine)
            return run(project, selection=select, as_of=parse_date(as_of), full_refresh=full_refresh, echo=echo,
                       wait=seconds)


#: what `--wait` alone stands for (cli.py puts it in): no time limit
WAIT_FOREVER = "forever"


def parse_wait(text: str | None) -> float:
    """--wait [SECONDS]: 0 without it (stop at once), math.inf alone, else the seconds given."""
    import math

    if text is None:
        return 0.0
    if text == WAIT_FOREVER:
        return math.inf
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(f"--wait takes a number of seconds such as 60 (or nothing, to wait as long as it takes), got {text!r}")
    return seconds
