"""`segpipe best-time [SEGMENT]`: a rate by local hour, ISO weekday, or both.

Reads segment_performance_hourly for a segment, and without one workspace_performance_hourly:
every send of the ranked scope (every segment, or those of --workspace-id), each once,
however many of those segments it counts for. Each UTC hour of the window is turned into
the `--tz` zone's local hour and weekday with zoneinfo (DST included): exact for zones
whose UTC offsets are whole hours; in a zone offset by a half or quarter hour a UTC hour
straddles two local hours and is counted in the one its start falls in.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from ..contract import SEGMENT_PERFORMANCE_HOURLY, SEGMENTS, WORKSPACE_PERFORMANCE_HOURLY
from ..errors import ConfigError
from ..output import formatted, json_text
from ..published import query
from ..suggest import did_you_mean
from ..top import METRICS, Window, check_range
from .rates import with_interval
from .scope import check_workspace, metric_columns, rate_keys, segment_in_scope

#: --by → the bucket keys, and all buckets in order
BUCKETS = {
    "hour": (("hour",), [(h,) for h in range(24)]),
    "weekday": (("weekday",), [(d,) for d in range(1, 8)]),
    "weekday-hour": (("weekday", "hour"), [(d, h) for d in range(1, 8) for h in range(24)]),
}

SEGMENT_SQL = f"""
select hour, sum(leads_sent)::BIGINT, sum({{count}})::BIGINT, sum({{denominator}})::BIGINT
from {SEGMENT_PERFORMANCE_HOURLY}
where hour between $start and $end and segment_id = $segment_id
group by hour
"""
# the global segments are in scope without --workspace-id, where the file shows them (a
# tenant's views do not); a workspace's own segments, with its id or without one
SCOPE_SQL = f"""
select hour, sum(leads_sent)::BIGINT, sum({{count}})::BIGINT, sum({{denominator}})::BIGINT
from {WORKSPACE_PERFORMANCE_HOURLY}
where hour between $start and $end
  and ($workspace_id is null or workspace_id = $workspace_id)
  and (in_workspace_segment or ($workspace_id is null and exists (select 1 from {SEGMENTS} where workspace_id is null)))
group by hour
"""


NOT_ZONE_NAMES = {"localtime", "posixrules"}
NOT_ZONE_FOLDERS = ("posix/", "right/")


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name` (e.g. Europe/Berlin), or a one-line error suggesting one. The system's
    zoneinfo folder also holds files no IANA name (`localtime`, this machine's zone; `posixrules`;
    the `posix/` and `right/` copies), which ZoneInfo would read: refused alike."""
    try:
        if name in NOT_ZONE_NAMES or name.startswith(NOT_ZONE_FOLDERS):
            raise zoneinfo.ZoneInfoNotFoundError(name)
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = did_you_mean(name, sorted(zoneinfo.available_timezones() - NOT_ZONE_NAMES))
        raise ConfigError(f"--tz must be an IANA time zone such as Europe/Berlin or America/New_York; "
                          f"got '{name}'{hint}") from None


#: 400 Gregorian years: the same weekdays, and at the calendar's ends the same zone rules
CYCLE = dt.timedelta(days=146_097)


def bucket_of(utc_hour: dt.datetime, zone: zoneinfo.ZoneInfo, by: str) -> tuple[int, ...]:
    utc = utc_hour.replace(tzinfo=dt.timezone.utc)
    try:
        local = utc.astimezone(zone)
    except OverflowError:  # local time before 0001-01-01 or after 9999-12-31: the same hour 400 years inward
        local = (utc + (CYCLE if utc.year < 5000 else -CYCLE)).astimezone(zone)
    return {"hour": (local.hour,), "weekday": (local.isoweekday(),),
            "weekday-hour": (local.isoweekday(), local.hour)}[by]


def best_bucket(buckets: list[dict], bounds: list[float | None], metric: str, min_sent: int) -> dict | None:
    """The bucket with the highest Wilson lower bound (bounce_rate: the lowest upper bound),
    compared at full precision, among those with at least min_sent sends; ties: more
    sends, then the earlier bucket."""
    sign = 1 if metric == "bounce_rate" else -1
    eligible = [i for i, b in enumerate(buckets) if b["leads_sent"] >= min_sent and bounds[i] is not None]
    if not eligible:
        return None
    return buckets[min(eligible, key=lambda i: (sign * bounds[i], -buckets[i]["leads_sent"], i))]


def best_time(con, segment: str | None = None, *, window: Window, by: str = "hour", tz: str = "UTC",
              metric: str = "reply_rate", workspace_id: int | None = None, min_sent: int = 30) -> dict:
    """SPEC §9's best-time JSON: every bucket with its sends, count, rate and interval, and `best`."""
    from ..stats import wilson

    count, denominator = metric_columns(metric)
    if by not in BUCKETS:
        raise ConfigError(f"--by must be one of {', '.join(BUCKETS)}; got '{by}'{did_you_mean(by, BUCKETS)}")
    check_range("--min-sent", min_sent, 0)
    check_workspace(workspace_id)
    zone = time_zone(tz)
    found = segment_in_scope(con, segment, workspace_id) if segment is not None else None
    keys, all_buckets = BUCKETS[by]
    totals = {bucket: [0, 0, 0] for bucket in all_buckets}
    # the window's first and last instant (not the next day's midnight: after 9999-12-31 there is none)
    hours = {"start": dt.datetime.combine(window.start, dt.time()),
             "end": dt.datetime.combine(window.end, dt.time.max)}
    if found:
        rows = query(con, SEGMENT_SQL.format(count=count, denominator=denominator), {**hours, "segment_id": found.id})
    else:
        rows = query(con, SCOPE_SQL.format(count=count, denominator=denominator), {**hours, "workspace_id": workspace_id})
    for hour, sent, x, n in rows:
        bucket = totals[bucket_of(hour, zone, by)]
        bucket[0], bucket[1], bucket[2] = bucket[0] + sent, bucket[1] + x, bucket[2] + n
    buckets, bounds = [], []
    for bucket, (sent, x, n) in totals.items():
        buckets.append({**dict(zip(keys, bucket)), "leads_sent": sent, count: x, **rate_keys(metric, x, n)})
        low, high = wilson(x, n)
        bounds.append(high if metric == "bounce_rate" else low)
    best = best_bucket(buckets, bounds, metric, min_sent)
    return {"metric": metric, "by": by, "tz": tz, "time_range_from": window.time_range_from,
            "time_range_to": window.time_range_to,
            "segment_id": found.id if found else None, "segment_name": found.name if found else None,
            "workspace_id": workspace_id, "min_sent": min_sent, "buckets": buckets, "best": best}


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def render(result: dict, output_format: str) -> str:
    """JSON as returned; CSV one row per bucket; a table with the best bucket marked."""
    metric, count = result["metric"], METRICS[result["metric"]]
    if output_format == "json":
        return json_text(result)
    keys = BUCKETS[result["by"]][0]
    values = [f"{metric}", f"{metric}_low", f"{metric}_high"]
    if output_format != "table":  # csv, and the file formats output.py writes (parquet, xlsx)
        columns = [*keys, "leads_sent", count, *values, "best"]
        rows = [[*(b[k] for k in columns[:-1]), b == result["best"]] for b in result["buckets"]]
        return formatted(output_format, columns, rows)
    columns = [*("weekday" if k == "weekday" else f"hour ({result['tz']})" for k in keys),
               "leads_sent", count, f"{metric} (95 % interval)", ""]
    rows = [[*(WEEKDAYS[b[k] - 1] if k == "weekday" else f"{b[k]:02d}:00" for k in keys), b["leads_sent"], b[count],
             with_interval(b, metric),
             "<- best" if b == result["best"] else ""] for b in result["buckets"]]
    scope = (f"segment {result['segment_id']} {result['segment_name']}" if result["segment_id"] is not None
             else "every segment" + (f" of workspace {result['workspace_id']}" if result["workspace_id"] is not None else ""))
    rule = "lowest 95 % upper bound" if metric == "bounce_rate" else "highest 95 % lower bound"
    best = result["best"]
    if best is None:
        verdict = f"No {result['by']} has {result['min_sent']} or more sends: no best time (lower --min-sent or widen --days)."
    else:
        label = " ".join(WEEKDAYS[best[k] - 1] if k == "weekday" else f"{best[k]:02d}:00" for k in keys)
        verdict = (f"Best: {label} ({result['tz']}), {metric} {with_interval(best, metric)}"
                   f" — the {rule} among buckets with {result['min_sent']}+ sends.")
    title = (f"{metric} by {result['by']} ({result['tz']}), {scope}, "
             f"{result['time_range_from'][:10]} to {result['time_range_to'][:10]} (UTC days)")
    return formatted("table", columns, rows, title=title) + verdict + "\n"
