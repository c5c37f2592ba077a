"""A small hand-made dataset full of SPEC edge cases, shared by pipeline tests."""

from __future__ import annotations

import datetime as dt

AS_OF = dt.date(2025, 1, 31)

LEADS = [
    # id, workspace, email, source, score, country, role, size, industry, tags
    {"id": 1, "workspace_id": 1, "email": "a@x.io", "source": "linkedin", "score": 80, "country": "US",
     "role": "Founder", "company_size": "1-10", "industry": "SaaS", "tags": "webinar;hiring"},
    {"id": 2, "workspace_id": 1, "email": "b@x.io", "source": "Apollo ", "score": 60, "country": " us",
     "role": "ceo", "company_size": "11-50", "industry": "saas ", "tags": ""},
    {"id": 3, "workspace_id": 1, "email": " \t ", "source": "linkedin", "score": 90, "country": "US",
     "role": "Founder", "company_size": "1-10", "industry": "SaaS", "tags": "Hiring"},
    {"id": 4, "workspace_id": 1, "email": "d@x.io", "source": "webinar", "score": None, "country": "US",
     "role": "Co-Founder", "company_size": "1-10", "industry": "SaaS", "tags": "webinar"},
    {"id": 5, "workspace_id": 2, "email": "e@x.io", "source": "linkedin", "score": 59.5, "country": "DE",
     "role": "CMO", "company_size": "51-200", "industry": "Fintech", "tags": "funding"},
    {"id": 6, "workspace_id": 2, "email": "f@x.io", "source": "referral", "score": 70, "country": "FR",
     "role": " cmo", "company_size": "201-1000", "industry": "SaaS", "tags": "webinar; funding"},
    {"id": 7, "workspace_id": 2, "email": None, "source": "referral", "score": 20, "country": "UK",
     "role": "Engineer", "company_size": "1000+", "industry": "Agency", "tags": None},
    {"id": 8, "workspace_id": 3, "email": "h@x.io", "source": "inbound", "score": 100, "country": "US",
     "role": "Founder", "company_size": "1-10", "industry": "SaaS", "tags": "hiring"},
    {"id": 9, "workspace_id": 3, "email": "i@x.io", "source": "o'brien; --", "score": 50, "country": "US",
     "role": "Founder", "company_size": "1-10", "industry": "SaaS", "tags": "{{ 7*7 }}"},
]

CAMPAIGNS = [
    {"id": 10, "workspace_id": 1, "name": "Jan founders", "segment_id": 1, "sent_at": "2025-01-10 09:00:00"},
    {"id": 11, "workspace_id": 1, "name": "Dec founders", "segment_id": 1, "sent_at": "2024-12-20 09:00:00"},
    {"id": 20, "workspace_id": 2, "name": "CMOs", "segment_id": 2, "sent_at": "2025-01-15 12:00:00"},
    {"id": 21, "workspace_id": 2, "name": "no segment", "segment_id": None, "sent_at": "2025-01-16 12:00:00"},
    {"id": 30, "workspace_id": 3, "name": "no time", "segment_id": 5, "sent_at": None},
]

_SEND_FLAGS = ("sent", "opened", "replied", "bounced", "clicked", "converted")


def _send(id_, campaign, lead, flags, sent_at=None, replied_at=None, clicked=None, converted=None, variant=None):
    row = {"id": id_, "campaign_id": campaign, "lead_id": lead, "sent_at": sent_at, "replied_at": replied_at,
           "variant": variant}
    for flag in ("sent", "opened", "replied", "bounced"):
        row[flag] = flag in flags
    row["clicked"], row["converted"] = clicked, converted
    return row


SENDS = [
    _send(1, 10, 1, {"sent", "opened", "replied"}, replied_at="2025-01-10 15:00:00", clicked=True, converted=False,
          variant="A"),
    _send(2, 10, 2, {"sent", "opened"}, sent_at="2025-01-11 08:00:00", clicked=False, variant="B"),
    _send(3, 10, 3, {"sent", "bounced"}, variant="A"),
    _send(4, 10, 4, {"sent", "opened", "replied"}, sent_at="2025-01-31 23:30:00"),  # replied, no replied_at
    _send(5, 10, 1, {"opened", "replied"}),                                           # not sent: counts for nothing
    _send(6, 11, 1, {"sent", "opened", "replied"}, replied_at="2024-12-21 09:00:00"),  # before the window
    _send(7, 11, 2, {"sent", "opened"}, sent_at="2025-01-01 00:00:00"),              # first second of the window
    _send(8, 20, 5, {"sent", "opened", "replied"}, replied_at="2025-01-16 00:00:00", converted=True),
    _send(9, 20, 6, {"sent", "opened"}),
    _send(10, 20, 7, {"sent", "bounced"}),
    _send(11, 21, 6, {"sent", "opened", "replied"}, replied_at="2025-01-17 06:00:00"),
    _send(12, 30, 8, {"sent", "opened"}),                                             # no send time at all
    _send(13, 30, 9, {"sent", "opened"}, sent_at="2025-01-20 10:00:00"),
    _send(14, 10, 1, {"sent", "opened", "replied"}, sent_at="2025-02-01 00:00:00"),  # after the window
]

SEGMENTS = [
    {"id": 1, "name": "US SaaS Founders", "description": "founders",
     "filters": {"countries": ["US"], "industries": ["SaaS"], "roles": ["Founder", "Co-Founder", "CEO"],
                 "has_email": True, "min_score": 60}},
    {"id": 2, "name": "EU CMOs", "filters": {"countries": ["DE", "FR", "UK"], "roles": "CMO"}},
    {"id": 3, "name": "Acme everyone", "workspace_id": 1},
    {"id": 4, "name": "Webinar or hiring", "filters": {"tags": ["Webinar", "HIRING"], "has_email": True}},
    {"id": 5, "name": "Quote ' \\ -- ; {{ 7*7 }} segment", "workspace_id": 3,
     "filters": {"sources": ["o'brien; --"], "tags": ["{{ 7*7 }}"]}},
    {"id": 6, "name": "No email", "filters": {"has_email": False}},
    {"id": 7, "name": "Nobody", "filters": {"countries": ["ZZ"]}},
]
