"""`segpipe top`: segments ranked by a rate over a window, from the published file.

The window is summed from `segment_performance_daily`, so any `--days` and
`--as-of` work without a rebuild. Ranking compares exact fractions, not
floats: metric descending (`bounce_rate` ascending), then leads_sent
descending, then segment_id. `--workspace-id W` ranks only segments of W: a
global segment (workspace_id NULL) spans every tenant, so it is left out too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from .contract import SEGMENT_PERFORMANCE_DAILY, SEGMENTS
from .errors import ConfigError
from .output import check_format, emit, formatted, json_text, records
from .project import parse_date
from .published import connect_published, query
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
        return f"{self.start} to {self.end} ({self.days} UTC days)"


def window_ending(as_of: str | None, days: int) -> Window:
    """The `--days` window ending on `--as-of`, by default today in UTC."""
    return Window.ending(parse_date(as_of) or dt.datetime.now(dt.timezone.utc).date(), days)


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(METRICS)}; got '{metric}'{did_you_mean(metric, METRICS)}")


def check_options(metric: str, limit: int, min_sent: int, workspace_id: int | None = None) -> None:
    check_metric(metric)
    check_limit(limit)
    check_range("--min-sent", min_sent, 0)
    if workspace_id is not None:
        check_range("--workspace-id", workspace_id, -BIGINT_MAX - 1)


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


def rank_segments(con, window: Window, metric: str, limit: int, min_sent: int,
                  workspace_id: int | None) -> list[dict]:
    """The ranked rows, counts as ints and rates as exact Fractions (None when not measurable,
    ranked after every measured one)."""
    rows = query(con, WINDOW_SQL, {"start": window.start, "end": window.end, "min_sent": min_sent,
                                   "workspace_id": workspace_id})
    segments = [with_rates({"segment_id": seg_id, "segment_name": name, "leads_sent": sent, **dict(zip(COUNTS, counts))})
                for seg_id, name, sent, *counts in rows]
    sign = 1 if metric == "bounce_rate" else -1

    def key(row):
        value = row[metric]
        return (value is None, sign * value if value is not None else 0, -row["leads_sent"], row["segment_id"])

    return sorted(segments, key=key)[:limit]


def output_keys(metric: str) -> tuple[str, ...]:
    """The seed dashboard's keys; click/conversion metrics add their count and rate."""
    if metric in BASE_KEYS:
        return BASE_KEYS
    return (*BASE_KEYS, METRICS[metric], metric)


def why_empty(con, workspace_id: int | None) -> str:
    """What an empty ranking means: a workspace without segments is not one whose segments
    were sent too little."""
    if workspace_id is not None and not query(
            con, "select count(*) from main.segments where workspace_id = $w", {"w": workspace_id})[0][0]:
        return f"(workspace {workspace_id} has no segments — give one `workspace_id: {workspace_id}` in the segments file)"
    return "(no segment has enough sends in this window)"


def ranked(con, *, days: int = 30, metric: str = "reply_rate", limit: int = 5, workspace_id: int | None = None,
           as_of: str | None = None, min_sent: int = 1) -> tuple[Window, list[dict]]:
    """The options checked as the CLI checks them, the window, and its ranked rows."""
    check_options(metric, limit, min_sent, workspace_id=workspace_id)
    window = window_ending(as_of, days)
    return window, rank_segments(con, window, metric, limit, min_sent, workspace_id)


def as_json(window: Window, metric: str, rows: list[dict]) -> dict:
    """The seed dashboard's JSON value: `segpipe top --format json` and the HTTP API alike."""
    return {"time_range_from": window.time_range_from, "time_range_to": window.time_range_to, "metric": metric,
            "segments": records(output_keys(metric), [[row[k] for k in output_keys(metric)] for row in rows])}


def report(con, **options) -> dict:
    """`segpipe top`'s JSON value over a read-only connection (options as `ranked` takes them)."""
    window, rows = ranked(con, **options)
    return as_json(window, options.get("metric", "reply_rate"), rows)


def render(window: Window, metric: str, rows: list[dict], output_format: str,
           empty: str = "(no segment has enough sends in this window)") -> str:
    """The dashboard's JSON shape, CSV with the same keys, or a ranked table."""
    if output_format == "json":
        return json_text(as_json(window, metric, rows))
    columns = list(output_keys(metric))
    values = [[row[k] for k in columns] for row in rows]
    if output_format == "table":
        columns, values = ["#", *columns], [[rank, *v] for rank, v in enumerate(values, 1)]
    return formatted(output_format, columns, values, title=f"Top {plural(len(rows), 'segment')} by {metric}, {window.describe()}",
                     text_columns={"segment_name"}, empty=empty)


def show(echo, *, project_dir=None, db=None, days=30, metric="reply_rate", limit=5, workspace_id=None,
         as_of=None, min_sent=1, output_format="table", output=None) -> None:
    """`segpipe top` itself, called by the typer command (cli.top) and by the fast
    entry point (entry.py) with the same option values; `echo` prints the result."""
    from .project import load_project

    check_options(metric, limit, min_sent, workspace_id)
    check_format(output_format)
    window = window_ending(as_of, days)
    with connect_published(load_project(project_dir, db=db).database) as con:
        window, rows = ranked(con, days=days, metric=metric, limit=limit, workspace_id=workspace_id, as_of=as_of,
                              min_sent=min_sent)
        empty = why_empty(con, workspace_id) if not rows else ""
    emit(render(window, metric, rows, output_format, empty), output, echo)
