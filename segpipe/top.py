"""`segpipe top`: segments ranked by a rate over a window, from the published file.

The window is summed from `segment_performance_daily`, so any `--days` and
`--as-of` work without a rebuild. Ranking compares exact fractions, not
floats: metric descending (`bounce_rate` ascending), then leads_sent
descending, then segment_id. Output rates are rounded half away from zero to
4 decimals with integer arithmetic, so 0.13875 never becomes 0.1387.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import ConfigError

#: metric → the count it divides by leads_sent
METRICS = {
    "reply_rate": "replied",
    "open_rate": "opened",
    "bounce_rate": "bounced",
    "click_rate": "clicked",
    "conversion_rate": "converted",
}
BASE_KEYS = ("segment_id", "segment_name", "leads_sent", "opened", "replied", "bounced",
             "open_rate", "reply_rate", "bounce_rate")
FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, as_of: dt.date, days: int) -> "Window":
        return cls(as_of - dt.timedelta(days=days - 1), as_of)

    @property
    def time_range_from(self) -> str:
        return f"{self.start.isoformat()}T00:00:00Z"

    @property
    def time_range_to(self) -> str:
        return f"{self.end.isoformat()}T23:59:59Z"


def check_options(days: int, metric: str, limit: int, min_sent: int, output_format: str) -> None:
    if not 1 <= days <= 365:
        raise ConfigError(f"--days must be from 1 to 365, got {days}")
    if metric not in METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(METRICS)}; got '{metric}'")
    if limit < 1:
        raise ConfigError(f"--limit must be 1 or more, got {limit}")
    if min_sent < 0:
        raise ConfigError(f"--min-sent must be 0 or more, got {min_sent}")
    if output_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got '{output_format}'")


def connect_published(path: Path):
    """Open the published file read-only (readers never block a run)."""
    import duckdb

    if not Path(path).exists():
        raise ConfigError(f"no published database at {path} — run `segpipe run` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


WINDOW_SQL = """
with window_totals as (
    select segment_id,
           sum(leads_sent) as leads_sent, sum(opened) as opened, sum(replied) as replied,
           sum(bounced) as bounced, sum(clicked) as clicked, sum(converted) as converted
    from main.segment_performance_daily
    where day between $start and $end
    group by segment_id
)
select s.segment_id, s.segment_name, s.workspace_id,
       coalesce(w.leads_sent, 0)::BIGINT, coalesce(w.opened, 0)::BIGINT, coalesce(w.replied, 0)::BIGINT,
       coalesce(w.bounced, 0)::BIGINT, coalesce(w.clicked, 0)::BIGINT, coalesce(w.converted, 0)::BIGINT
from main.segments as s
left join window_totals as w using (segment_id)
where coalesce(w.leads_sent, 0) >= $min_sent
  and ($workspace_id is null or s.workspace_id = $workspace_id)
"""


def rank_segments(con, window: Window, metric: str, limit: int, min_sent: int,
                  workspace_id: int | None) -> list[dict]:
    """The ranked rows, counts as ints and rates as exact Fractions (None without sends)."""
    rows = con.execute(WINDOW_SQL, {"start": window.start, "end": window.end, "min_sent": min_sent,
                                    "workspace_id": workspace_id}).fetchall()
    segments = []
    for seg_id, name, ws, sent, opened, replied, bounced, clicked, converted in rows:
        counts = {"opened": opened, "replied": replied, "bounced": bounced, "clicked": clicked, "converted": converted}
        row = {"segment_id": seg_id, "segment_name": name, "workspace_id": ws, "leads_sent": sent, **counts}
        for rate, count in METRICS.items():
            row[rate] = Fraction(counts[count], sent) if sent else None
        segments.append(row)
    sign = 1 if metric == "bounce_rate" else -1

    def key(row):
        value = row[metric]
        return (value is None, sign * value if value is not None else 0, -row["leads_sent"], row["segment_id"])

    return sorted(segments, key=key)[:limit]


def round_rate(value: Fraction | None) -> float | None:
    """Round half away from zero to 4 decimals, exactly (rates are never negative)."""
    if value is None:
        return None
    scaled = value * 10000
    return ((2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)) / 10000


def output_keys(metric: str) -> tuple[str, ...]:
    """The seed dashboard's keys; click/conversion metrics add their count and rate."""
    if metric in BASE_KEYS:
        return BASE_KEYS
    return (*BASE_KEYS, METRICS[metric], metric)


def as_records(rows: list[dict], metric: str) -> list[dict]:
    keys = output_keys(metric)
    return [{k: (round_rate(r[k]) if k in METRICS else r[k]) for k in keys} for r in rows]


def to_json(window: Window, metric: str, rows: list[dict]) -> str:
    payload = {"time_range_from": window.time_range_from, "time_range_to": window.time_range_to,
               "metric": metric, "segments": as_records(rows, metric)}
    return json.dumps(payload, indent=2, ensure_ascii=False)


def to_csv(rows: list[dict], metric: str) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=output_keys(metric), lineterminator="\n")
    writer.writeheader()
    writer.writerows(as_records(rows, metric))
    return buffer.getvalue()


def to_table(window: Window, metric: str, rows: list[dict]) -> str:
    days = (window.end - window.start).days + 1
    header = f"Top {len(rows)} segments by {metric}, {window.start} to {window.end} ({days} UTC days)"
    if not rows:
        return header + "\n(no segment has enough sends in this window)\n"
    keys = output_keys(metric)
    labels = ["#", *keys]
    body = [[str(i), *[_cell(r, k) for k in keys]] for i, r in enumerate(as_records(rows, metric), 1)]
    widths = [max(len(labels[c]), *(len(line[c]) for line in body)) for c in range(len(labels))]
    text_cols = {labels.index("segment_name")}

    def fmt(line):
        return "  ".join(v.ljust(w) if c in text_cols else v.rjust(w) for c, (v, w) in enumerate(zip(line, widths))).rstrip()

    return "\n".join([header, fmt(labels), fmt(["-" * w for w in widths]), *map(fmt, body)]) + "\n"


def _cell(record: dict, key: str) -> str:
    value = record[key]
    if value is None:
        return "-"
    if key in METRICS:
        return f"{value * 100:.2f}%"
    return str(value)


def render(window: Window, metric: str, rows: list[dict], output_format: str) -> str:
    if output_format == "json":
        return to_json(window, metric, rows) + "\n"
    if output_format == "csv":
        return to_csv(rows, metric)
    return to_table(window, metric, rows)
