"""`segpipe compare A B`: do two segments really differ on a rate? (SPEC §9)

Both segments' counts over the window come from segment_performance_daily; the
sends they share (a lead in both segments counts its sends for both under
matching attribution) from internal.segment_set_sends_daily: sends per day and
set of segments the lead is in, by the set's number in internal.segment_sets
(finding the sets that hold both there, not in every day row, is 3x faster). A
per-segment-pair table would hold segments² × days rows, and a per-lead table
joined with segment_leads took several times as long as all of `segpipe top` at
scale m. When the samples overlap the test, which assumes independent samples,
is approximate, and the output says so.
"""

from __future__ import annotations

import datetime as dt

from ..contract import SEGMENT_PERFORMANCE_DAILY, SEGMENT_SET_SENDS_DAILY, SEGMENT_SETS
from ..errors import ConfigError
from ..output import table
from ..published import query
from ..top import Window, check_metric
from .rates import comparison, difference_words, rate_fields, rendered, window_words, with_interval, x_n
from .scope import check_workspace, segment_in_scope

COUNTS = ("leads_sent", "opened", "replied", "bounced", "clicked", "converted", "clicks_tracked", "conversions_tracked")

COUNTS_SQL = f"""
select {", ".join(f"coalesce(sum({c}), 0)::BIGINT" for c in COUNTS)}
from {SEGMENT_PERFORMANCE_DAILY}
where segment_id = $id and day between $start and $end
"""

SHARED_SQL = f"""
select coalesce(sum(leads_sent), 0)::BIGINT
from {SEGMENT_SET_SENDS_DAILY}
where day between $start and $end
  and set_id in (select set_id from {SEGMENT_SETS} where list_contains(segment_ids, $a) and list_contains(segment_ids, $b))
"""


def window_counts(con, segment_id: int, window: Window) -> dict:
    row = query(con, COUNTS_SQL, {"id": segment_id, "start": window.start, "end": window.end})[0]
    return dict(zip(COUNTS, row))


def shared_sends(con, a: int, b: int, window: Window) -> int:
    return query(con, SHARED_SQL, {"a": a, "b": b, "start": window.start, "end": window.end})[0][0]


def compare_segments(con, a: str, b: str, window: Window, metric: str, workspace_id: int | None = None) -> dict:
    """The JSON value of `segpipe compare`: both sides, their difference, its test, the overlap."""
    check_metric(metric)
    check_workspace(workspace_id)
    first, second = segment_in_scope(con, a, workspace_id), segment_in_scope(con, b, workspace_id)
    if first.id == second.id:
        raise ConfigError(f"compare needs two different segments; both are segment {first.id} '{first.name}'")
    sides = []
    for segment in (first, second):
        counts = window_counts(con, segment.id, window)
        sides.append((segment, counts))
    result = {"metric": metric, "time_range_from": window.time_range_from, "time_range_to": window.time_range_to}
    for key, (segment, counts) in zip(("a", "b"), sides):
        result[key] = {"segment_id": segment.id, "segment_name": segment.name, "leads_sent": counts["leads_sent"],
                       **rate_fields(metric, counts)}
    result.update(comparison(x_n(metric, sides[0][1]), x_n(metric, sides[1][1])))
    result["shared_sends"] = shared_sends(con, first.id, second.id, window)
    return result


def flat_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row for CSV, Parquet and XLSX: a_…, b_…, then the comparison."""
    columns, values = [], []
    for side in ("a", "b"):
        for key, value in result[side].items():
            columns.append(f"{side}_{key}")
            values.append(value)
    for key in ("metric", "time_range_from", "time_range_to", "difference", "difference_low", "difference_high",
                "p_value", "test", "significant", "shared_sends"):
        columns.append(key)
        # the window's ends as times, so Parquet and XLSX hold times (CSV writes them as JSON does, with a Z)
        values.append(dt.datetime.fromisoformat(result[key].removesuffix("Z")) if key.startswith("time_range")
                      else result[key])
    return columns, [values]


def table_text(result: dict) -> str:
    """Both segments with their rate and interval, then the verdict in words."""
    metric = result["metric"]
    count = next(k for k in result["a"] if k not in ("segment_id", "segment_name", "leads_sent"))
    rows = [[side.upper(), str(result[side]["segment_id"]), result[side]["segment_name"],
             str(result[side]["leads_sent"]), str(result[side][count]), with_interval(result[side], metric)]
            for side in ("a", "b")]
    header = ["", "segment_id", "segment_name", "leads_sent", count, f"{metric} (95 % CI)"]
    lines = table(header, rows, text_columns={"", "segment_name"}).splitlines()
    text = [f"Compare {metric}, {window_words(result)}", *lines, "",
            f"Difference A − B: {difference_words(result)}."]
    if result["shared_sends"]:
        text.append(f"The samples overlap: {result['shared_sends']} sends count for both segments, "
                    "so the test (which assumes independent samples) is approximate.")
    return "\n".join(text) + "\n"


def render(result: dict, output_format: str):
    """The result as the chosen --format prints or writes it."""
    return rendered(result, output_format, table_text, flat_rows)
