"""An independent, plain-Python reading of SPEC §3–§4, used as the tests' oracle.

Deliberately naive (loops over dicts, no SQL) so it shares no code or
shortcuts with the pipeline it checks.
"""

from __future__ import annotations

import datetime as dt

LIST_FILTERS = {"sources": "source", "countries": "country", "roles": "role",
                "company_sizes": "company_size", "industries": "industry"}


def _key(value):
    return None if value is None else str(value).strip().lower()


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tags(lead):
    tags = lead.get("tags")
    if isinstance(tags, str):
        tags = tags.split(";")
    return {t.strip().lower() for t in (tags or []) if t and t.strip()}


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
        if lead.get("score") in (None, "") or float(lead["score"]) < filters["min_score"]:
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


def performance(segments, leads, campaigns, sends, *, as_of: dt.date, days: int,
                attribution: str = "matching") -> dict[int, dict]:
    """Per segment id: counts, rates (None without sends) and avg_response_hours."""
    start = as_of - dt.timedelta(days=days - 1)
    by_campaign = {c["id"]: c for c in campaigns}
    members = membership(segments, leads)
    result = {}
    for segment in segments:
        counted = []
        for send in sends:
            if not send.get("sent"):
                continue
            campaign = by_campaign.get(send["campaign_id"], {})
            sent_at = _ts(send.get("sent_at")) or _ts(campaign.get("sent_at"))
            if sent_at is None or not start <= sent_at.date() <= as_of:
                continue
            if attribution == "campaign":
                if campaign.get("segment_id") != segment["id"]:
                    continue
            elif (segment["id"], send["lead_id"]) not in members:
                continue
            counted.append((send, sent_at))
        n = len(counted)
        row = {"leads_sent": n}
        for flag in ("opened", "replied", "bounced", "clicked", "converted"):
            row[flag] = sum(1 for s, _ in counted if s.get(flag) is True)
        for rate, flag in (("open_rate", "opened"), ("reply_rate", "replied"), ("bounce_rate", "bounced"),
                           ("click_rate", "clicked"), ("conversion_rate", "converted")):
            row[rate] = row[flag] / n if n else None
        hours = [(_ts(s["replied_at"]) - t).total_seconds() / 3600 for s, t in counted
                 if s.get("replied") is True and s.get("replied_at")]
        row["avg_response_hours"] = sum(hours) / len(hours) if hours else None
        result[segment["id"]] = row
    return result
