"""`segpipe leads` and `segpipe campaigns`: the seed dashboard's links behind a segment.

Both read the published file only (the relations of contract.py), so they work
with the source files gone. A segment is named by its id or its exact name; an
unknown one is an error suggesting the closest name. `campaigns` sums
`segment_campaign_daily`, which sums the same (segment, send) pairs as
`segment_performance_daily` (macros/sends.sql), so a segment's campaigns add up
to what `segpipe top` shows for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .contract import LEADS, SEGMENT_CAMPAIGN_DAILY, SEGMENT_LEADS, SEGMENTS
from .errors import ConfigError, UnknownSegmentError
from .output import records
from .published import query, run_info
from .suggest import did_you_mean
from .top import Window, check_limit, check_range, window_ending

LEAD_COLUMNS = ("lead_id", "email", "workspace_id", "source", "score", "country", "role",
                "company_size", "industry", "tags")
#: workspace_id is the campaign's: ids are numbered per workspace, so a global segment's list
#: can hold workspace 1's campaign 10 and workspace 2's campaign 10
CAMPAIGN_COLUMNS = ("campaign_id", "campaign_name", "workspace_id", "first_sent_at", "last_sent_at", "leads_sent",
                    "opened", "replied", "bounced", "open_rate", "reply_rate", "bounce_rate")


@dataclass(frozen=True)
class SegmentRef:
    id: int
    name: str
    workspace_id: int | None


def find_segment(con, ref: str, workspace_id: int | None = None) -> SegmentRef:
    """The segment whose id or exact name is `ref`; an id first, so a segment named "5" does
    not hide segment 5. A name several segments share (each workspace's "EU CMOs") is
    narrowed to `workspace_id`'s, and is otherwise an error asking for the id: picking one
    would show another segment's figures without a word."""
    segments = [SegmentRef(*row) for row in query(
        con, f"select segment_id, segment_name, workspace_id from {SEGMENTS} order by segment_id")]
    digits = ref.strip()
    # more digits than Python's int() reads (4300) are no id: a name, not an unexpected error
    as_id = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 4300 else None
    found = next((s for s in segments if s.id == as_id), None)
    if found:
        return found
    named = [s for s in segments if s.name == ref]
    if len(named) > 1 and workspace_id is not None:
        named = [s for s in named if s.workspace_id == workspace_id] or named
    if len(named) > 1:
        ids = ", ".join(f"{s.id} ({'global' if s.workspace_id is None else f'workspace {s.workspace_id}'})"
                        for s in named)
        raise ConfigError(f"segments {ids} are all named '{ref}': give the segment's id instead")
    if named:
        return named[0]
    hint = did_you_mean(ref, [s.name for s in segments])
    raise UnknownSegmentError(f"no segment with id or name '{ref}'{hint} — `segpipe top --min-sent 0 --limit 1000` lists them")


#: a lead's score as listed: a NaN score (the file let it through; it meets no min_score
#: and the data-quality checks report it) is no score, so it is null in JSON, which has no
#: NaN, and is listed after every real score
SCORE = "case when isfinite(l.score) then l.score end"  # JSON has no NaN or infinity: null


def segment_leads(con, segment: SegmentRef, limit: int, offset: int = 0) -> tuple[int, list[tuple]]:
    """(how many leads the segment has, `limit` of them from `offset` on: best score first)."""
    total = query(con, f"select count(*) from {SEGMENT_LEADS} where segment_id = $id", {"id": segment.id})[0][0]
    columns = ", ".join(SCORE if c == "score" else f"l.{c}" for c in LEAD_COLUMNS)
    rows = query(con, f"""
        select {columns}
        from {SEGMENT_LEADS} as sl
        join {LEADS} as l on l.lead_id = sl.lead_id
        where sl.segment_id = $id
        order by {SCORE} desc nulls last, l.lead_id
        limit $limit offset $offset""", {"id": segment.id, "limit": limit, "offset": offset})
    return total, [_whole_score(row) for row in rows]


def _whole_score(row: tuple) -> tuple:
    at = LEAD_COLUMNS.index("score")
    return (*row[:at], shown_score(row[at]), *row[at + 1:])


def shown_score(score):
    """A score of 90.0 as 90: the column is a DOUBLE (59.5 is a score too), but a whole score
    reads as the integer it is in JSON and CSV, as in the leads file."""
    return int(score) if isinstance(score, float) and score.is_integer() else score


def segment_campaigns(con, segment: SegmentRef, window: Window) -> tuple[str, list[list]]:
    """(the attribution used, one row per campaign that sent to the segment in the window)."""
    info = run_info(con)
    if "campaigns" not in info.get("sources", ["campaigns"]):
        raise ConfigError("this project has no campaigns source: its sends are read from leads.metadata, so there are no campaigns to list")
    rows = query(con, f"""
        select campaign_id, any_value(campaign_name), campaign_workspace_id, min(first_sent_at), max(last_sent_at),
               sum(leads_sent)::bigint, sum(opened)::bigint, sum(replied)::bigint, sum(bounced)::bigint
        from {SEGMENT_CAMPAIGN_DAILY}
        where segment_id = $id and day between $start and $end
        group by campaign_id, campaign_workspace_id  -- campaign ids are numbered per workspace
        order by min(first_sent_at), campaign_id, campaign_workspace_id""",
                 {"id": segment.id, "start": window.start, "end": window.end})
    attribution = info.get("vars", {}).get("attribution", "matching")
    return attribution, [[*row, *(Fraction(n, row[5]) for n in row[6:9])] for row in rows]


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
