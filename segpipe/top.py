"""`segpipe top`: segments ranked by a rate over a window, from the published file.

The window is summed from `segment_performance_daily`, so any `--days` and
`--as-of` work without a rebuild. Ranking compares exact fractions, not
floats: metric descending (`bounce_rate` ascending), then leads_sent
descending, then segment_id. `--workspace-id W` ranks only segments of W: a
global segment (workspace_id NULL) spans every tenant, so it is left out too.
`--rank-by wilson|shrunk` ranks by the rate's 95 % Wilson lower bound (upper
bound for bounce_rate) or its empirical-Bayes shrunk rate (SPEC §7, §9), with
the same tie-breaks, so a 1-of-1 segment at 100 % is not the top performer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from .contract import SEGMENT_PERFORMANCE_DAILY, SEGMENTS
from .errors import ConfigError
from .output import Interval, check_format, chosen_format, emit, formatted, json_text, records
from .project import parse_date
from .published import connect_project, query
from .stats import shrunk_rates, wilson
from .suggest import did_you_mean
from .wording import plural

BIGINT_MAX = 2**63 - 1

#: metric → the count it divides by its denominator (DENOMINATORS)
METRICS = {
    "reply_rate": "replied",
    "open_rate": "opened",
    "bounce_rate": "bounced",
    "click_rate": "clicked",
    "conversion_rate": "converted",
}
#: metric → its denominator (SPEC §4): clicks and conversions only over the sends that track them,
#: so a segment whose campaigns do not track clicks has no click rate, not 0 %
DENOMINATORS = {
    "reply_rate": "leads_sent",
    "open_rate": "leads_sent",
    "bounce_rate": "leads_sent",
    "click_rate": "clicks_tracked",
    "conversion_rate": "conversions_tracked",
}
COUNTS = ("opened", "replied", "bounced", "clicked", "converted", "clicks_tracked", "conversions_tracked")
#: the seed dashboard's keys, in its order
BASE_KEYS = ("segment_id", "segment_name", "leads_sent", "opened", "replied", "bounced",
             "open_rate", "reply_rate", "bounce_rate")
MAX_DAYS = 365
#: --rank-by: the raw rate, its Wilson bound, or its shrunk rate (SPEC §7)
RANK_BY = ("rate", "wilson", "shrunk")


@dataclass(frozen=True)
class Window:
    """Whole UTC days from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, as_of: dt.date, days: int) -> "Window":
        if not 1 <= days <= MAX_DAYS:
            raise ConfigError(f"--days must be from 1 to {MAX_DAYS}, got {days}")
        try:
            return cls(as_of - dt.timedelta(days=days - 1), as_of)
        except OverflowError:
            raise ConfigError(f"--as-of {as_of} is too early for a {days}-day window") from None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def time_range_from(self) -> str:
        return f"{self.start.isoformat()}T00:00:00Z"

    @property
    def time_range_to(self) -> str:
        return f"{self.end.isoformat()}T23:59:59Z"

    def describe(self) -> str:
        return f"{self.start} to {self.end} ({plural(self.days, 'UTC day')})"


def window_ending(as_of: str | None, days: int) -> Window:
    """The `--days` window ending on `--as-of`, by default today in UTC."""
    return Window.ending(parse_date(as_of) or dt.datetime.now(dt.timezone.utc).date(), days)


def check_options(metric: str, limit: int, min_sent: int, workspace_id: int | None = None,
                  rank_by: str = "rate") -> None:
    check_metric(metric)
    if rank_by not in RANK_BY:
        raise ConfigError(f"--rank-by must be one of {', '.join(RANK_BY)}; got '{rank_by}'{did_you_mean(rank_by, RANK_BY)}")
    check_limit(limit)
    check_range("--min-sent", min_sent, 0)
    if workspace_id is not None:
        check_range("--workspace-id", workspace_id, -BIGINT_MAX - 1)


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(METRICS)}; got '{metric}'{did_you_mean(metric, METRICS)}")


def check_limit(limit: int) -> None:
    check_range("--limit", limit, 1)


def check_range(option: str, value: int, least: int) -> None:
    """An integer option's value, from `least` to the largest BIGINT DuckDB compares it with."""
    if not least <= value <= BIGINT_MAX:
        raise ConfigError(f"{option} must be from {least} to {BIGINT_MAX}, got {value}"
                          if value > BIGINT_MAX else f"{option} must be {least} or more, got {value}")


WINDOW_SQL = f"""
with window_totals as (
    select segment_id, sum(leads_sent) as leads_sent, {", ".join(f"sum({c}) as {c}" for c in COUNTS)}
    from {SEGMENT_PERFORMANCE_DAILY}
    where day between $start and $end
    group by segment_id
)
select s.segment_id, s.segment_name, coalesce(w.leads_sent, 0)::BIGINT,
       {", ".join(f"coalesce(w.{c}, 0)::BIGINT" for c in COUNTS)}
from {SEGMENTS} as s
left join window_totals as w using (segment_id)
where coalesce(w.leads_sent, 0) >= $min_sent
  and ($workspace_id is null or s.workspace_id = $workspace_id)
"""


def with_rates(row: dict) -> dict:
    """The row with every metric as an exact Fraction, None when its denominator is 0."""
    return {**row, **{rate: Fraction(row[count], row[DENOMINATORS[rate]]) if row[DENOMINATORS[rate]] else None
                      for rate, count in METRICS.items()}}


def rate_counts(row: dict, metric: str) -> tuple[int, int]:
    """(x, n) of the metric for a row: its count and its denominator."""
    return row[METRICS[metric]], row[DENOMINATORS[metric]]


def rank_segments(con, window: Window, metric: str, limit: int, min_sent: int,
                  workspace_id: int | None, rank_by: str = "rate") -> list[dict]:
    """The ranked rows, counts as ints and rates as exact Fractions (None when not measurable,
    ranked after every measured one).

    Each row also carries `<metric>_low`/`<metric>_high` (its Wilson interval) and,
    ranking by `shrunk`, `<metric>_shrunk`, shrunk over every segment being ranked
    (all that pass --min-sent and --workspace-id, not only the first `limit`).
    """
    rows = query(con, WINDOW_SQL, {"start": window.start, "end": window.end, "min_sent": min_sent,
                                   "workspace_id": workspace_id})
    segments = [with_rates({"segment_id": seg_id, "segment_name": name, "leads_sent": sent, **dict(zip(COUNTS, counts))})
                for seg_id, name, sent, *counts in rows]
    add_intervals(segments, metric, shrink=rank_by == "shrunk")
    ranked_value = {"rate": metric, "shrunk": f"{metric}_shrunk",
                    "wilson": f"{metric}_high" if metric == "bounce_rate" else f"{metric}_low"}[rank_by]
    sign = 1 if metric == "bounce_rate" else -1

    def key(row):
        value = row[ranked_value]
        return (value is None, sign * value if value is not None else 0, -row["leads_sent"], row["segment_id"])

    return sorted(segments, key=key)[:limit]


def add_intervals(rows: list[dict], metric: str, shrink: bool) -> None:
    """Add the metric's Wilson interval (and shrunk rate) to each row, as Fractions of
    the exact float values so output rounds them like rates."""
    for row in rows:
        low, high = wilson(*rate_counts(row, metric))
        row[f"{metric}_low"] = None if low is None else Fraction(low)
        row[f"{metric}_high"] = None if high is None else Fraction(high)
    if shrink:
        measured = [row for row in rows if rate_counts(row, metric)[1] >= 1]
        for row in rows:
            row[f"{metric}_shrunk"] = None
        for row, shrunk in zip(measured, shrunk_rates([rate_counts(row, metric) for row in measured])):
            row[f"{metric}_shrunk"] = shrunk


def output_keys(metric: str, rank_by: str = "rate") -> tuple[str, ...]:
    """The seed dashboard's keys; click/conversion metrics add their count and rate; a
    --rank-by other than rate adds the Wilson interval (and the shrunk rate) at the end."""
    keys = BASE_KEYS if metric in BASE_KEYS else (*BASE_KEYS, METRICS[metric], metric)
    if rank_by != "rate":
        keys = (*keys, f"{metric}_low", f"{metric}_high")
    if rank_by == "shrunk":
        keys = (*keys, f"{metric}_shrunk")
    return keys


def why_empty(con, workspace_id: int | None) -> str:
    """What an empty ranking means: a workspace without segments is not one whose segments
    were sent too little."""
    if workspace_id is not None and not query(
            con, f"select count(*) from {SEGMENTS} where workspace_id = $w", {"w": workspace_id})[0][0]:
        return f"(workspace {workspace_id} has no segments — give one `workspace_id: {workspace_id}` in the segments file)"
    return "(no segment has enough sends in this window)"


def ranked(con, *, days: int = 30, metric: str = "reply_rate", limit: int = 5, workspace_id: int | None = None,
           as_of: str | None = None, min_sent: int = 1, rank_by: str = "rate") -> tuple[Window, list[dict]]:
    """The options checked as the CLI checks them, the window, and its ranked rows."""
    check_options(metric, limit, min_sent, workspace_id=workspace_id, rank_by=rank_by)
    window = window_ending(as_of, days)
    return window, rank_segments(con, window, metric, limit, min_sent, workspace_id, rank_by)


def as_json(window: Window, metric: str, rows: list[dict], rank_by: str = "rate") -> dict:
    """The seed dashboard's JSON value: `segpipe top --format json` and the HTTP API alike."""
    keys = output_keys(metric, rank_by)
    return {"time_range_from": window.time_range_from, "time_range_to": window.time_range_to, "metric": metric,
            "segments": records(keys, [[row[k] for k in keys] for row in rows])}


def report(con, **options) -> dict:
    """`segpipe top`'s JSON value over a read-only connection (options as `ranked` takes them)."""
    window, rows = ranked(con, **options)
    return as_json(window, options.get("metric", "reply_rate"), rows, options.get("rank_by", "rate"))


def render(window: Window, metric: str, rows: list[dict], output_format: str, rank_by: str = "rate",
           empty: str = "(no segment has enough sends in this window)") -> str:
    """The dashboard's JSON shape, CSV with the same keys, or a ranked table whose metric
    column shows the rate with its 95 % interval."""
    if output_format == "json":
        return json_text(as_json(window, metric, rows, rank_by))
    columns = list(output_keys(metric, rank_by))
    values = [[row[k] for k in columns] for row in rows]
    title = f"Top {plural(len(rows), 'segment')} by {metric}, {window.describe()}"
    if output_format == "table":
        columns = ["#", *(c for c in columns if c not in (f"{metric}_low", f"{metric}_high"))]
        values = [[rank, *(Interval(row[metric], row[f"{metric}_low"], row[f"{metric}_high"]) if c == metric else row[c]
                           for c in columns[1:])] for rank, row in enumerate(rows, 1)]
        if rank_by != "rate":
            title = f"Top {plural(len(rows), 'segment')} by {RANKED_BY_WORDS[rank_by]} of {metric}, {window.describe()}"
    return formatted(output_format, columns, values, title=title, text_columns={"segment_name"}, empty=empty)


RANKED_BY_WORDS = {"wilson": "the 95 % Wilson bound", "shrunk": "the empirical-Bayes shrunk rate"}


def show(echo, *, project_dir=None, db=None, days=30, metric="reply_rate", limit=5, workspace_id=None,
         as_of=None, min_sent=1, output_format=None, output=None, rank_by="rate") -> None:
    """`segpipe top` itself, called by the typer command (cli.top) and by the fast
    entry point (entry.py) with the same option values; `echo` prints the result."""
    check_options(metric, limit, min_sent, workspace_id, rank_by)
    output_format = chosen_format(output_format, output)
    check_format(output_format)
    window_ending(as_of, days)
    with connect_project(project_dir, db) as con:
        window, rows = ranked(con, days=days, metric=metric, limit=limit, workspace_id=workspace_id, as_of=as_of,
                              min_sent=min_sent, rank_by=rank_by)
        empty = why_empty(con, workspace_id) if not rows else ""
    emit(render(window, metric, rows, output_format, rank_by, empty), output, echo)
