"""`segpipe trend SEGMENT…`: a rate per day, week or month, with its Wilson interval.

Reads segment_performance_daily only. Periods are UTC: weeks start on Monday, months
on the 1st; every period overlapping the window is listed (the first and last cut to
the window, so their `period_start` is the window's first day and their counts cover
only the window's days), periods without sends with 0 counts and null rates.
"""

from __future__ import annotations

import datetime as dt

from ..contract import SEGMENT_PERFORMANCE_DAILY
from ..errors import ConfigError
from ..output import formatted, json_text
from ..published import query
from ..suggest import did_you_mean
from ..top import METRICS, Window
from .rates import with_interval
from .scope import check_workspace, metric_columns, rate_keys, segment_in_scope

PERIODS = ("day", "week", "month")

DAILY_SQL = f"""
select day, sum(leads_sent)::BIGINT, sum({{count}})::BIGINT, sum({{denominator}})::BIGINT
from {SEGMENT_PERFORMANCE_DAILY}
where segment_id = $segment_id and day between $start and $end
group by day
"""


def check_period(by: str) -> None:
    if by not in PERIODS:
        raise ConfigError(f"--by must be one of {', '.join(PERIODS)}; got '{by}'{did_you_mean(by, PERIODS)}")


def period_of(day: dt.date, by: str) -> dt.date:
    """The first day of the period holding `day`."""
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def periods(window: Window, by: str) -> list[dt.date]:
    """The (uncut) starts of every period overlapping the window, in order. A window ending
    in the last period a date can hold (--as-of 9999-12-31) has no next period to step to."""
    starts, day = [], period_of(window.start, by)
    while day <= window.end:
        starts.append(day)
        try:
            if by == "month":
                day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            else:
                day += dt.timedelta(days=7 if by == "week" else 1)
        except OverflowError:
            break
    return starts


def trend(con, segments: list[str], *, window: Window, by: str = "week", metric: str = "reply_rate",
          workspace_id: int | None = None) -> dict:
    """SPEC §9's trend JSON for the named segments (ids or exact names, each once)."""
    count, denominator = metric_columns(metric)
    check_period(by)
    check_workspace(workspace_id)
    if not segments:
        raise ConfigError("trend needs at least one SEGMENT (an id or an exact name)")
    found = []
    for ref in segments:
        segment = segment_in_scope(con, ref, workspace_id)
        if segment not in found:
            found.append(segment)
    starts = periods(window, by)
    series = []
    for segment in found:
        totals = {start: [0, 0, 0] for start in starts}
        sql = DAILY_SQL.format(count=count, denominator=denominator)
        for day, sent, x, n in query(con, sql, {"segment_id": segment.id, "start": window.start, "end": window.end}):
            bucket = totals[period_of(day, by)]
            bucket[0], bucket[1], bucket[2] = bucket[0] + sent, bucket[1] + x, bucket[2] + n
        points = [{"period_start": max(start, window.start).isoformat(), "leads_sent": sent, count: x,
                   **rate_keys(metric, x, n)}
                  for start, (sent, x, n) in totals.items()]
        series.append({"segment_id": segment.id, "segment_name": segment.name, "points": points})
    return {"metric": metric, "by": by, "time_range_from": window.time_range_from,
            "time_range_to": window.time_range_to, "series": series}


def render(result: dict, output_format: str) -> str:
    """JSON as returned; CSV one row per segment and period; a table per segment."""
    metric, count = result["metric"], METRICS[result["metric"]]
    if output_format == "json":
        return json_text(result)
    if output_format != "table":  # csv, and the file formats output.py writes (parquet, xlsx)
        columns = ["segment_id", "segment_name", "period_start", "leads_sent", count,
                   metric, f"{metric}_low", f"{metric}_high"]
        # the period as a date, so Parquet and XLSX hold a date (CSV writes it as JSON does)
        rows = [[s["segment_id"], s["segment_name"], dt.date.fromisoformat(p["period_start"]),
                 *(p[c] for c in columns[3:])]
                for s in result["series"] for p in s["points"]]
        return formatted(output_format, columns, rows)
    window = f"{result['time_range_from'][:10]} to {result['time_range_to'][:10]} (UTC)"
    blocks = []
    for series in result["series"]:
        columns = [f"{result['by']} from", "leads_sent", count, f"{metric} (95 % interval)"]
        rows = [[p["period_start"], p["leads_sent"], p[count],
                 with_interval(p, metric)] for p in series["points"]]
        blocks.append(formatted("table", columns, rows,
                                title=f"Segment {series['segment_id']} {series['segment_name']}: {metric} by {result['by']}, {window}"))
    return "\n".join(blocks)
