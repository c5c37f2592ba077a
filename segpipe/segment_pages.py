"""What the HTTP API's segment pages show beyond the CLI's commands (SPEC §10).

`GET /api/segments` lists the segments as published; `GET /api/segments/{id}`
is one segment and its figures over a `--days` window ending on `--as-of`,
summed from `segment_performance_daily` exactly as `segpipe top` sums them.
"""

from __future__ import annotations

import json
from fractions import Fraction

from .analyses.scope import DENOMINATORS
from .contract import SEGMENT_PERFORMANCE_DAILY, SEGMENTS
from .drilldown import find_segment
from .output import plain, round_rate
from .published import query
from .top import BIGINT_MAX, METRICS, check_range, window_ending

SEGMENT_KEYS = ("segment_id", "segment_name", "workspace_id", "description", "filters")
#: the counts a window sums; each rate is METRICS[rate] / DENOMINATORS[rate] (SPEC §4)
COUNTS = ("leads_sent", "opened", "replied", "bounced", "clicked", "converted", "clicks_tracked",
          "conversions_tracked")


def _segment_rows(con, where: str = "", params=None) -> list[dict]:
    rows = query(con, f"select {', '.join(SEGMENT_KEYS)} from {SEGMENTS} {where} order by segment_id", params)
    return [{**dict(zip(SEGMENT_KEYS, row)), "filters": json.loads(row[4]) if row[4] else {}} for row in rows]


def segments_list(con, *, workspace_id: int | None = None) -> dict:
    """Every published segment (only workspace W's with `workspace_id`, like `top --workspace-id`)."""
    if workspace_id is not None:
        check_range("--workspace-id", workspace_id, -BIGINT_MAX - 1)
        return {"segments": _segment_rows(con, "where workspace_id = $w", {"w": workspace_id})}
    return {"segments": _segment_rows(con)}


def segment_report(con, segment: str, *, days: int = 30, as_of: str | None = None) -> dict:
    """One segment (by id or exact name) and its figures over the window."""
    window = window_ending(as_of, days)
    found = find_segment(con, segment)
    info = _segment_rows(con, "where segment_id = $id", {"id": found.id})[0]
    sums = query(con, f"""
        select {', '.join(f'coalesce(sum({c}), 0)::BIGINT' for c in COUNTS)},
               coalesce(sum(timed_replies), 0)::BIGINT, coalesce(sum(response_micros_sum), 0)
        from {SEGMENT_PERFORMANCE_DAILY}
        where segment_id = $id and day between $start and $end""",
                 {"id": found.id, "start": window.start, "end": window.end})[0]
    counts = dict(zip(COUNTS, sums))
    timed, micros = sums[-2], sums[-1]
    rates = {rate: round_rate(Fraction(counts[count], counts[DENOMINATORS[rate]])) if counts[DENOMINATORS[rate]] else None
             for rate, count in METRICS.items()}
    hours = round_rate(Fraction(int(micros), timed * 3_600_000_000)) if timed else None  # exactly, half away from zero
    return {**info, "time_range_from": window.time_range_from, "time_range_to": window.time_range_to,
            "performance": {**counts, **rates, "avg_response_hours": plain(hours)}}
