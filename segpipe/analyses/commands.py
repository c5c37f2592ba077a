"""The analysis commands themselves (`segpipe trend`, `best-time`, `compare`, `variants`, `export`).

Each is called as `command(echo, **values)` by its typer command (cli.py) and by
the typer-free entry point (entry.py), with the values declared in options.py:
open the published file read-only, run the analysis, print or write its result.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..output import check_format, chosen_format, emit, to_file
from ..published import connect_project
from ..top import window_ending


def _print_analysis(echo, project_dir, db, output_format, output, analyse, render) -> None:
    output_format = chosen_format(output_format, output)
    check_format(output_format)
    with connect_project(project_dir, db) as con:
        result = analyse(con)
    emit(render(result, output_format), output, echo)


def trend(echo, *, segments, project_dir=None, db=None, by="week", days=30, as_of=None, metric="reply_rate",
          workspace_id=None, output_format=None, output=None) -> None:
    from .trend import render, trend as analyse

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: analyse(con, segments, window=window, by=by, metric=metric, workspace_id=workspace_id),
                    render)


def best_time(echo, *, segment=None, project_dir=None, db=None, by="hour", tz="UTC", min_sent=30, days=30,
              as_of=None, metric="reply_rate", workspace_id=None, output_format=None, output=None) -> None:
    from .best_time import best_time as analyse, render

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: analyse(con, segment, window=window, by=by, tz=tz, metric=metric,
                                        workspace_id=workspace_id, min_sent=min_sent), render)


def compare(echo, *, a, b, project_dir=None, db=None, days=30, as_of=None, metric="reply_rate", workspace_id=None,
            output_format=None, output=None) -> None:
    from .compare import compare_segments, render

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: compare_segments(con, a, b, window, metric, workspace_id), render)


def variants(echo, *, segment, project_dir=None, db=None, campaign=None, days=30, as_of=None, metric="reply_rate",
             workspace_id=None, output_format=None, output=None) -> None:
    from .variants import render, segment_variants

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: segment_variants(con, segment, window, metric, workspace_id, campaign), render)


def export(echo, *, table, top=None, output_format=None, output=None, days=30, as_of=None, metric="reply_rate",
           workspace_id=None, min_sent=1, rank_by="rate", project_dir=None, db=None) -> None:
    from ..top import check_options, check_range
    from .export import check_export_format, table_query, top_leads_query, write_query

    output = to_file(output)  # `-`: stdout
    named_by_file = output_format is None and output is not None
    output_format = chosen_format(output_format, output, default="csv")
    check_export_format(output_format, output, named_by_file)
    if top is not None and table != "leads":
        raise ConfigError(f"--top N exports the leads of the top N segments: use `segpipe export leads --top {top}`, not '{table}'")
    if top is not None:
        check_range("--top", top, 1)  # before check_options, whose limit is called --limit
    # the ranking options are checked without --top too, where they do nothing: a bad value is an error, never ignored
    check_options(metric, top or 1, min_sent, workspace_id, rank_by)
    window = window_ending(as_of, days)
    if top is None:
        with connect_project(project_dir, db) as con:
            write_query(con, table_query(con, table), output_format, output, echo)
        return
    with connect_project(project_dir, db) as con:
        sql, _ = top_leads_query(con, window, metric, top, min_sent, workspace_id, rank_by,
                                 ";" if output_format == "csv" else None)
        write_query(con, sql, output_format, output, echo)
