"""The analysis commands themselves (`segpipe trend`, `best-time`, `compare`, `variants`).

Each is called as `command(echo, **values)` by its typer command (cli.py) and by
the typer-free entry point (entry.py), with the values declared in options.py:
open the published file read-only, run the analysis, print or write its result.
"""

from __future__ import annotations

from ..output import check_format, emit
from ..top import window_ending


def _print_analysis(echo, project_dir, db, output_format, output, analyse, render) -> None:
    from ..project import load_project
    from ..published import connect_published

    check_format(output_format)
    with connect_published(load_project(project_dir, db=db).database) as con:
        result = analyse(con)
    emit(render(result, output_format), output, echo)


def trend(echo, *, segments, project_dir=None, db=None, by="week", days=30, as_of=None, metric="reply_rate",
          workspace_id=None, output_format="table", output=None) -> None:
    from .trend import render, trend as analyse

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: analyse(con, segments, window=window, by=by, metric=metric, workspace_id=workspace_id),
                    render)


def best_time(echo, *, segment=None, project_dir=None, db=None, by="hour", tz="UTC", min_sent=30, days=30,
              as_of=None, metric="reply_rate", workspace_id=None, output_format="table", output=None) -> None:
    from .best_time import best_time as analyse, render

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: analyse(con, segment, window=window, by=by, tz=tz, metric=metric,
                                        workspace_id=workspace_id, min_sent=min_sent), render)


def compare(echo, *, a, b, project_dir=None, db=None, days=30, as_of=None, metric="reply_rate", workspace_id=None,
            output_format="table", output=None) -> None:
    from .compare import compare_segments, render

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: compare_segments(con, a, b, window, metric, workspace_id), render)


def variants(echo, *, segment, project_dir=None, db=None, campaign=None, days=30, as_of=None, metric="reply_rate",
             workspace_id=None, output_format="table", output=None) -> None:
    from .variants import render, segment_variants

    window = window_ending(as_of, days)
    _print_analysis(echo, project_dir, db, output_format, output,
                    lambda con: segment_variants(con, segment, window, metric, workspace_id, campaign), render)
