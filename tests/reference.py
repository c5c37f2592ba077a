"""An independent, plain-Python reading of SPEC §3–§4, used as the tests' oracle.

Deliberately naive (loops over dicts, no SQL) so it shares no code or
shortcuts with the pipeline it checks.
"""

from __future__ import annotations

import datetime as dt

LIST_FILTERS = {"sources": "source", "countries": "country", "roles": "role",
                "company_sizes": "company_size", "industries": "industry"}


def _key(value):
    return None if value is None else str(value).strip(" ").lower()  # spaces, not tabs: SQL's trim()


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tags(lead):
    tags = lead.get("tags")
    if isinstance(tags, str):
        tags = tags.split(";")
    return {t.strip(" ").lower() for t in (tags or []) if t and t.strip(" ")}


def lead_matches(segment: dict, lead: dict) -> bool:
    if segment.get("workspace_id") is not None and lead["workspace_id"] != segment["workspace_id"]:
        return False
    filters = segment.get("filters") or {}
    for key, column in LIST_FILTERS.items():
        wanted = {_key(v) for v in _as_list(filters.get(key))}
        if wanted and _key(lead.get(column)) not in wanted:
            return False
    wanted_tags = {_key(v) for v in _as_list(filters.get("tags"))}
    if wanted_tags and not (wanted_tags & _tags(lead)):
        return False
    if filters.get("min_score") is not None:
        # written as "not >=" so that a NaN score, which is no score, meets no min_score
        if lead.get("score") in (None, "") or not float(lead["score"]) >= filters["min_score"]:
            return False
    if filters.get("has_email") is not None:
        has = bool(lead.get("email") and str(lead["email"]).strip())
        if has != filters["has_email"]:
            return False
    return True


def membership(segments, leads) -> set[tuple[int, int]]:
    return {(s["id"], l["id"]) for s in segments for l in leads if lead_matches(s, l)}


def _ts(value):
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _workspace(row):
    value = row.get("workspace_id")
    return None if value in (None, "") else int(value)


def _same_workspace(a, b) -> bool:
    """SPEC §4 tenancy: differing workspaces, both known."""
    return a is None or b is None or a == b


def campaigns_by_id(campaigns) -> dict[int, list[dict]]:
    """Campaign ids are numbered per workspace: each id's campaigns, one per workspace using it."""
    found = {}
    for campaign in campaigns:
        found.setdefault(campaign["id"], []).append(campaign)
    return found


def campaign_of(send, lead, by_campaign) -> dict:
    """The send's campaign: the one with its id in the lead's workspace, else another
    workspace's (the send is then across workspaces), else {} (unknown)."""
    found = by_campaign.get(send["campaign_id"], [])
    own = [c for c in found if lead is not None and _workspace(c) == _workspace(lead)]
    return (own or found or [{}])[0]


def _counted(segment, members, by_campaign, by_lead, sends, attribution) -> list[tuple[dict, dt.datetime]]:
    """(send, send time) of every send counted for `segment`, whenever it was sent; sends
    without a send time, to a lead not in `leads`, or across workspaces are left out (SPEC §4).
    Each send comes with its campaign as `_campaign`."""
    counted = []
    for send in sends:
        if not send.get("sent"):
            continue
        lead = by_lead.get(send["lead_id"])
        campaign = campaign_of(send, lead, by_campaign)
        sent_at = _ts(send.get("sent_at")) or _ts(campaign.get("sent_at"))
        if sent_at is None:
            continue
        if lead is None or not _same_workspace(_workspace(campaign), _workspace(lead)):
            continue
        if attribution == "campaign":
            if campaign.get("segment_id") != segment["id"]:
                continue
            if not _same_workspace(_workspace(segment), _workspace(lead)):
                continue
        elif (segment["id"], send["lead_id"]) not in members:
            continue
        counted.append(({**send, "_campaign": campaign}, sent_at))
    return counted


def _counts(counted) -> dict:
    row = {"leads_sent": len(counted)}
    for flag in ("opened", "replied", "bounced", "clicked", "converted"):
        row[flag] = sum(1 for s, _ in counted if s.get(flag) is True)
    row["clicks_tracked"] = sum(1 for s, _ in counted if s.get("clicked") is not None)
    row["conversions_tracked"] = sum(1 for s, _ in counted if s.get("converted") is not None)
    return row


#: rate → (count, denominator), SPEC §4
RATES = {"open_rate": ("opened", "leads_sent"), "reply_rate": ("replied", "leads_sent"),
         "bounce_rate": ("bounced", "leads_sent"), "click_rate": ("clicked", "clicks_tracked"),
         "conversion_rate": ("converted", "conversions_tracked")}


def _response_times(counted) -> list[dt.timedelta]:
    """replied_at − send time of the replied sends that have a replied_at."""
    return [_ts(s["replied_at"]) - t for s, t in counted if s.get("replied") is True and s.get("replied_at")]


def performance(segments, leads, campaigns, sends, *, as_of: dt.date, days: int,
                attribution: str = "matching") -> dict[int, dict]:
    """Per segment id: counts, rates (None when their denominator is 0) and avg_response_hours."""
    start = as_of - dt.timedelta(days=days - 1)
    by_campaign = campaigns_by_id(campaigns)
    by_lead = {l["id"]: l for l in leads}
    members = membership(segments, leads)
    result = {}
    for segment in segments:
        counted = [(s, t) for s, t in _counted(segment, members, by_campaign, by_lead, sends, attribution)
                   if start <= t.date() <= as_of]
        row = _counts(counted)
        for rate, (count, denominator) in RATES.items():
            row[rate] = row[count] / row[denominator] if row[denominator] else None
        hours = [delta.total_seconds() / 3600 for delta in _response_times(counted)]
        row["avg_response_hours"] = sum(hours) / len(hours) if hours else None
        result[segment["id"]] = row
    return result


def daily(segments, leads, campaigns, sends, *, attribution: str = "matching") -> dict[tuple[int, dt.date], dict]:
    """Per (segment id, UTC day of send) with at least one send, all history: the counts,
    timed_replies (replied sends with a replied_at) and response_micros_sum (their
    replied_at − send time, in whole microseconds, summed)."""
    return grouped(segments, leads, campaigns, sends, lambda send, sent_at: (sent_at.date(),), attribution=attribution)


def hourly(segments, leads, campaigns, sends, *, attribution: str = "matching") -> dict[tuple[int, dt.datetime], dict]:
    """As daily(), per (segment id, start of the UTC hour of send), with the tracked counts."""
    return grouped(segments, leads, campaigns, sends,
                   lambda send, sent_at: (sent_at.replace(minute=0, second=0, microsecond=0),),
                   attribution=attribution, tracked=True)


def campaign_daily(segments, leads, campaigns, sends, *, attribution: str = "matching") -> dict[tuple, dict]:
    """As daily(), per (segment id, campaign id, campaign workspace, variant or None, UTC day),
    with the tracked counts, the campaign's name and the first and last send time."""
    names = {(c["id"], _workspace(c)): c.get("name") for c in campaigns}
    result = grouped(segments, leads, campaigns, sends,
                     lambda send, sent_at: (send["campaign_id"], _workspace(send["_campaign"]),
                                            send.get("variant") or None, sent_at.date()),
                     attribution=attribution, tracked=True, span=True)
    for (_, campaign_id, workspace_id, _, _), row in result.items():
        row["campaign_name"] = names.get((campaign_id, workspace_id))
    return result


def grouped(segments, leads, campaigns, sends, key, *, attribution: str = "matching", tracked: bool = False,
            span: bool = False) -> dict[tuple, dict]:
    """Per (segment id, *key(send, send time)) with at least one counted send: the counts."""
    by_campaign = campaigns_by_id(campaigns)
    by_lead = {l["id"]: l for l in leads}
    members = membership(segments, leads)
    result = {}
    for segment in segments:
        groups = {}
        for send, sent_at in _counted(segment, members, by_campaign, by_lead, sends, attribution):
            groups.setdefault(key(send, sent_at), []).append((send, sent_at))
        for group, counted in groups.items():
            times = _response_times(counted)
            row = {**_counts(counted), "timed_replies": len(times),
                   "response_micros_sum": sum(t // dt.timedelta(microseconds=1) for t in times)}
            if tracked:
                row["clicks_tracked"] = sum(1 for s, _ in counted if s.get("clicked") not in (None, ""))
                row["conversions_tracked"] = sum(1 for s, _ in counted if s.get("converted") not in (None, ""))
            if span:
                row["first_sent_at"] = min(t for _, t in counted)
                row["last_sent_at"] = max(t for _, t in counted)
            result[(segment["id"], *group)] = row
    return result

