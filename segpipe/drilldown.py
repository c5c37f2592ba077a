"""`segpipe leads` and `segpipe campaigns`: the seed dashboard's links behind a segment.

Both read the published file. A segment is named by its id or its exact name;
an unknown one is an error suggesting the closest name. `campaigns` attributes
sends the way the published figures were built (`vars.attribution` of that
run), so a segment's campaigns add up to what `segpipe top` shows for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import ConfigError, UnknownSegmentError
from .output import records
from .published import query, run_vars
from .suggest import did_you_mean
from .top import Window, check_limit, check_range, window_ending

LEAD_COLUMNS = ("lead_id", "email", "workspace_id", "source", "score", "country", "role",
                "company_size", "industry", "tags")
CAMPAIGN_COLUMNS = ("campaign_id", "campaign_name", "first_sent_at", "last_sent_at", "leads_sent",
                    "opened", "replied", "bounced", "open_rate", "reply_rate", "bounce_rate")


@dataclass(frozen=True)
class SegmentRef:
    id: int
    name: str
    workspace_id: int | None


def find_segment(con, ref: str) -> SegmentRef:
    """The segment whose id or exact name is `ref`."""
    segments = [SegmentRef(*row) for row in query(
        con, "select segment_id, segment_name, workspace_id from main.segments order by segment_id")]
    for segment in segments:
        if ref == segment.name or (ref.strip().isascii() and ref.strip().isdigit() and int(ref) == segment.id):
            return segment
    hint = did_you_mean(ref, [s.name for s in segments])
    raise UnknownSegmentError(f"no segment with id or name '{ref}'{hint} — `segpipe top --min-sent 0 --limit 1000` lists them")


def segment_leads(con, segment: SegmentRef, limit: int, offset: int = 0) -> tuple[int, list[tuple]]:
    """(how many leads the segment has, `limit` of them from `offset` on: best score first)."""
    total = query(con, "select count(*) from main.segment_leads where segment_id = $id", {"id": segment.id})[0][0]
    columns = ", ".join(f"l.{c}" for c in ("id", *LEAD_COLUMNS[1:]))
    rows = query(con, f"""
        select {columns}
        from main.segment_leads as sl
        join src.leads as l on l.id = sl.lead_id
        where sl.segment_id = $id
        order by l.score desc nulls last, l.id
        limit $limit offset $offset""", {"id": segment.id, "limit": limit, "offset": offset})
    return total, rows


def _has_relation(con, schema: str, name: str) -> bool:
    """A table or view (a Parquet source is a view over its files, see file_views)."""
    return bool(query(con, "select count(*) from information_schema.tables where table_catalog = current_database() "
                           "and table_schema = $schema and table_name = $name", {"schema": schema, "name": name})[0][0])


def _attributed_sends(attribution: str) -> str:
    """The sends counted for segment $id, as segment_performance_daily counts them."""
    if attribution == "campaign":
        return "select * from staging.stg_sends where campaign_segment_id = $id"
    return ("select s.* from staging.stg_sends as s "
            "join main.segment_leads as sl on sl.lead_id = s.lead_id and sl.segment_id = $id")


def segment_campaigns(con, segment: SegmentRef, window: Window) -> tuple[str, list[list]]:
    """(the attribution used, one row per campaign that sent to the segment in the window)."""
    if not _has_relation(con, "src", "campaigns"):
        raise ConfigError("this project has no campaigns source: its sends are read from leads.metadata, so there are no campaigns to list")
    attribution = run_vars(con).get("attribution", "matching")
    rows = query(con, f"""
        with sends as ({_attributed_sends(attribution)})
        select s.campaign_id, c.name, min(s.sent_at), max(s.sent_at), count(*),
               count(*) filter (where s.opened), count(*) filter (where s.replied),
               count(*) filter (where s.bounced)
        from sends as s
        left join src.campaigns as c on c.id = s.campaign_id
        where s.sent_at is not null and cast(s.sent_at as date) between $start and $end
        group by s.campaign_id, c.name
        order by min(s.sent_at), s.campaign_id""", {"id": segment.id, "start": window.start, "end": window.end})
    return attribution, [[*row, *(Fraction(n, row[4]) for n in row[5:8])] for row in rows]


def check_leads_options(limit: int, offset: int) -> None:
    check_limit(limit)
    check_range("--offset", offset, 0)


def leads_json(segment: SegmentRef, total: int, rows: list[tuple]) -> dict:
    """`segpipe leads --format json`'s value (the HTTP API's too)."""
    return {"segment_id": segment.id, "segment_name": segment.name, "lead_count": total,
            "leads": records(LEAD_COLUMNS, rows)}


def leads_report(con, segment: str, *, limit: int = 20, offset: int = 0) -> dict:
    """A page of a segment's leads as `segpipe leads --format json` prints it."""
    check_leads_options(limit, offset)
    found = find_segment(con, segment)
    return leads_json(found, *segment_leads(con, found, limit, offset))


def campaigns_json(segment: SegmentRef, attribution: str, window: Window, rows: list[list]) -> dict:
    """`segpipe campaigns --format json`'s value (the HTTP API's too)."""
    return {"segment_id": segment.id, "segment_name": segment.name, "attribution": attribution,
            "time_range_from": window.time_range_from, "time_range_to": window.time_range_to,
            "campaigns": records(CAMPAIGN_COLUMNS, rows)}


def campaigns_report(con, segment: str, *, days: int = 30, as_of: str | None = None) -> dict:
    """The campaigns that sent to a segment in the window, as `segpipe campaigns --format json` prints them."""
    window = window_ending(as_of, days)
    found = find_segment(con, segment)
    attribution, rows = segment_campaigns(con, found, window)
    return campaigns_json(found, attribution, window, rows)
