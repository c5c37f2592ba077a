"""Generate the demo project's seed data: seeds/*.csv and seeds/segments.yml.

The seeds are committed so the repository is a working segpipe project out of the box; this script is how
they were made. Regenerate with `python scripts/generate_demo_data.py [--out seeds]`. Standard library only,
fixed seed: the output is byte-identical on every run. Outcome rates depend on lead attributes (role, score,
industry, country, source, email, month) so the segment ranking tells a story, and match-key values carry
case/space messiness because segpipe trims and case-folds when it matches.
"""
import argparse
import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

END_DATE = datetime(2026, 11, 15)  # last send day; the demo runs with --as-of 2026-11-15
START_DATE = END_DATE - timedelta(days=364)  # twelve months of sends
END_OF_DATA = END_DATE + timedelta(days=1) - timedelta(seconds=1)
SEED = 20261115
N_LEADS = 4000
BASE_REPLY = 0.03  # tuned so the overall reply rate is ~7%

# (id, name, share of leads in %, number of campaigns)
WORKSPACES = [(1, "Acme Outbound", 45, 30), (2, "Northwind Growth", 35, 27), (3, "Globex Sales", 20, 18)]
UNTRACKED_WORKSPACE = 3  # no click / conversion tracking: those columns stay empty
COUNTRIES = {"US": 30, "UK": 12, "DE": 10, "FR": 8, "CA": 7, "NL": 6, "ES": 5, "SE": 4, "AU": 6, "IN": 12}
ROLES = {"Founder": 10, "Co-Founder": 6, "CEO": 10, "CTO": 10, "CMO": 9, "VP Sales": 10,
         "Head of Growth": 9, "Marketing Manager": 16, "Engineer": 20}
SIZES = {"1-10": 22, "11-50": 28, "51-200": 24, "201-1000": 16, "1000+": 10}
INDUSTRIES = {"SaaS": 30, "Fintech": 14, "E-commerce": 15, "Healthcare": 10, "Agency": 12,
              "Manufacturing": 10, "Education": 9}
SOURCES = {"linkedin": 35, "apollo": 25, "webinar": 15, "referral": 10, "inbound": 15}
TAGS = ["webinar", "hiring", "funding", "conference", "newsletter", "trial", "partner"]
FIRST = ["anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "ines", "jonas",
         "kate", "liam", "maya", "noah", "olga", "paul", "rosa", "sam", "tara", "victor"]
LAST = ["smith", "meyer", "dubois", "garcia", "jansen", "berg", "patel", "brown", "rossi", "kim"]

# Outcome model (keys are normalised: trimmed, case-folded).
ROLE_REPLY = {"founder": 2.3, "co-founder": 2.0, "ceo": 1.9, "cto": 0.9, "cmo": 0.55, "vp sales": 1.2,
              "head of growth": 1.3, "marketing manager": 0.8, "engineer": 0.2}
ROLE_OPEN = {"cmo": 0.22, "marketing manager": 0.08, "head of growth": 0.05, "engineer": -0.12, "cto": -0.05}
INDUSTRY_REPLY = {"saas": 1.45, "fintech": 1.1, "e-commerce": 0.85, "healthcare": 0.85, "agency": 0.55,
                  "manufacturing": 0.7, "education": 0.8}
COUNTRY_REPLY = {"us": 1.3, "ca": 1.1, "uk": 1.05, "in": 0.7, "fr": 0.9}
SOURCE_REPLY = {"referral": 1.8, "inbound": 1.5, "webinar": 1.2, "apollo": 0.7}
SOURCE_BOUNCE = {"apollo": 0.025, "linkedin": 0.008}
SIZE_REPLY = {"1-10": 1.1, "1000+": 0.75}
MONTH_REPLY = {12: 0.7, 1: 1.15, 8: 0.8}  # holiday slump, new-year bump, summer lull
# The stories the analyses tell on this data (README, "Analyses"):
# - send time: replies come more often to emails sent early in the UTC working day
#   and on Tuesdays/Wednesdays, less often in the evening (segpipe best-time);
# - variant B of an A/B campaign's email gets clearly more replies than A (segpipe variants);
# - webinar-tagged leads improve over the year as the webinar programme matures
#   (segment 5 "Webinar Attendees", segpipe trend);
# - small segments whose rates look far apart but are within each other's noise (compare).
HOUR_REPLY = {7: 1.5, 8: 1.6, 9: 1.5, 10: 1.3, 11: 1.1, 17: 0.8, 18: 0.7, 19: 0.6, 20: 0.55, 21: 0.5, 22: 0.5}
WEEKDAY_REPLY = {1: 1.25, 2: 1.2, 4: 0.85}  # datetime.weekday(): Tuesday, Wednesday up; Friday down
VARIANT_REPLY = {"B": 1.6}
WEBINAR_START, WEBINAR_END = 0.45, 1.9  # reply multiplier for webinar-tagged leads, first to last day

SEGMENTS = [
    (1, "US SaaS Founders", None, "Founders of US SaaS companies with a reachable inbox",
     {"countries": ["US"], "industries": ["SaaS"], "roles": ["Founder", "Co-Founder", "CEO"],
      "has_email": True, "min_score": 60}),
    (2, "EU CMOs", None, "Marketing chiefs in Europe with an email",
     {"countries": ["UK", "DE", "FR", "NL", "ES", "SE"], "roles": ["CMO"], "has_email": True}),
    (3, "Northwind - all leads", 2, "Every lead of the Northwind workspace", {}),
    (4, "Fintech Decision Makers", None, "People who sign at fintechs",
     {"roles": ["Founder", "CEO", "CTO", "VP Sales"], "industries": ["Fintech"]}),
    (5, "Webinar Attendees", None, "Leads tagged as webinar attendees", {"tags": ["webinar"]}),
    (6, "Hiring Scale-ups", None, "Mid-size companies that are hiring or just raised",
     {"company_sizes": ["51-200", "201-1000"], "tags": ["hiring", "funding"]}),
    (7, "Warm Inbound & Referrals", None, "Inbound and referred leads with a decent score",
     {"sources": ["inbound", "referral"], "min_score": 50}),
    (8, "Globex Enterprise Health & Manufacturing", 3, "Large healthcare and manufacturing accounts",
     {"company_sizes": ["201-1000", "1000+"], "industries": ["Healthcare", "Manufacturing"]}),
    (9, "Agency & E-commerce Engineers", None, "Engineers at agencies and shops (cold list)",
     {"roles": ["Engineer"], "industries": ["Agency", "E-commerce"]}),
    (10, "Acme DACH & Nordics SaaS", 1, "SaaS companies in Germany, Sweden and the Netherlands",
     {"countries": ["DE", "SE", "NL"], "industries": ["SaaS"]}),
    (11, "Globex Small E-commerce", 3, "Small online shops",
     {"company_sizes": ["1-10", "11-50"], "industries": ["E-commerce"]}),
    (12, "Reachable Scored Leads", None, "Any lead with an email and a score of 58+",
     {"has_email": True, "min_score": 58}),
]


# Written to segments.yml but not targeted by campaigns (so the generated sends do not
# depend on it): three leads, tagged after their sends are drawn, each with a single send
# in the demo's 30-day window, one of which got a reply. 1 of 3 (33 %) tops `segpipe top`
# by raw rate; `top --rank-by wilson|shrunk` puts it where the evidence says.
TINY_SEGMENT = (13, "VIP Referrals", None, "Leads tagged 'VIP Referral' by hand (a list of three)",
                {"tags": ["VIP Referral"]})


def tag_tiny_segment_leads(leads, sends, campaigns):
    """Tag the lowest-id lead whose only send of the last 30 days replied, and the two
    lowest-id leads whose only send of those days did not."""
    by_campaign = {c["id"]: c for c in campaigns}
    first_day = (END_DATE - timedelta(days=29)).date()
    recent = {}
    for s in sends:
        at = s["sent_at"] or by_campaign[s["campaign_id"]]["sent_at"]
        if s["sent"] and at and datetime.fromisoformat(at).date() >= first_day:
            recent.setdefault(s["lead_id"], []).append(s)
    single = sorted(i for i, rows in recent.items() if len(rows) == 1)
    chosen = [i for i in single if recent[i][0]["replied"]][:1] + [i for i in single if not recent[i][0]["replied"]][:2]
    for lead in leads:
        if lead["id"] in chosen:
            lead["tags"] = ";".join(t for t in [lead["tags"], "VIP Referral"] if t)


def norm(value):
    return (value or "").strip().casefold()


def pick(rng, table):
    return rng.choices(list(table), weights=list(table.values()))[0]


def messy(rng, value, p=0.05):
    """Return value, sometimes with different case or surrounding spaces."""
    if rng.random() >= p:
        return value
    return rng.choice([value.lower(), value.upper(), " " + value, value + " ", " " + value.lower()])


def ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt else ""


def make_leads(rng):
    leads = []
    for lead_id in range(1, N_LEADS + 1):
        ws = rng.choices([w[0] for w in WORKSPACES], weights=[w[2] for w in WORKSPACES])[0]
        tables = (COUNTRIES, ROLES, SIZES, INDUSTRIES, SOURCES)
        country, role, size, industry, source = (pick(rng, t) for t in tables)
        score = rng.gauss(48, 20) + 10 * (industry == "SaaS") + 8 * (role in ("Founder", "Co-Founder", "CEO"))
        tags = rng.sample(TAGS, rng.choices([0, 1, 2, 3], weights=[40, 35, 18, 7])[0])
        if source == "webinar" and "webinar" not in tags and rng.random() < 0.7:
            tags.insert(0, "webinar")
        r, domain = rng.random(), f"{industry.lower().replace('-', '')}{rng.randint(1, 400)}.example"
        email = "" if r < 0.035 else "  " if r < 0.05 else f"{rng.choice(FIRST)}.{rng.choice(LAST)}{lead_id}@{domain}"
        days_before = rng.uniform(0, 200) if rng.random() < 0.55 else -rng.uniform(0, 350)
        created = START_DATE - timedelta(days=days_before) + timedelta(seconds=rng.randint(0, 86399))
        utm = rng.choice(["spring_promo", "g2_ads", "newsletter"])
        meta = json.dumps({"utm": utm}) if rng.random() < 0.015 else ""  # JSON column, used only by the fallback
        leads.append({
            "id": lead_id, "workspace_id": ws, "email": email, "source": messy(rng, source),
            "score": "" if rng.random() < 0.03 else max(0, min(100, round(score))),
            "country": messy(rng, country), "role": messy(rng, role), "company_size": messy(rng, size, 0.02),
            "industry": messy(rng, industry), "tags": ";".join(messy(rng, t) for t in tags),
            "created_at": ts(created.replace(microsecond=0)), "metadata": meta, "_created": created,
        })
    return leads


def matches(segment, lead):
    """Python mirror of the SPEC §3 matching rules (used to target campaigns)."""
    _, _, ws, _, f = segment
    if ws is not None and lead["workspace_id"] != ws:
        return False
    for key, col in (("sources", "source"), ("countries", "country"), ("roles", "role"),
                     ("company_sizes", "company_size"), ("industries", "industry")):
        if f.get(key) and norm(lead[col]) not in {norm(v) for v in f[key]}:
            return False
    if f.get("tags") and not {norm(t) for t in lead["tags"].split(";")} & {norm(t) for t in f["tags"]}:
        return False
    if "min_score" in f and (lead["score"] == "" or lead["score"] < f["min_score"]):
        return False
    return "has_email" not in f or bool(lead["email"].strip()) == f["has_email"]


def make_campaigns(rng):
    campaigns = []
    for ws, _, _, count in WORKSPACES:
        for _ in range(count):
            day = START_DATE + timedelta(days=rng.randint(0, 364))
            while day.weekday() >= 5:
                day = START_DATE + timedelta(days=rng.randint(0, 364))
            options = [s for s in SEGMENTS if s[2] in (None, ws)]
            seg = None if rng.random() < 0.2 else rng.choice(options)
            campaigns.append({"workspace_id": ws, "segment": seg, "ab": rng.random() < 0.5,
                              "_at": day + timedelta(hours=rng.randint(5, 16), minutes=rng.randint(0, 59))})
    campaigns.sort(key=lambda c: (c["_at"], c["workspace_id"]))
    campaigns[-1]["_at"] = END_DATE + timedelta(hours=9, minutes=30)  # last send day is END_DATE
    for cid, c in enumerate(campaigns, 1):
        theme = c["segment"][1] if c["segment"] else "General outreach"
        c.update(id=cid, name=f"{theme} - {c['_at']:%b %Y}" + (" (A/B)" if c["ab"] else ""), sent_at=ts(c["_at"]),
                 segment_id=c["segment"][0] if c["segment"] else "", size=rng.randint(280, 940))
    # data-quality case: a small Northwind campaign exported without its send time
    broken = next(c for c in campaigns if c["workspace_id"] == 2 and c["_at"].month == 6)
    broken.update(sent_at="", size=40, broken=True)
    return campaigns


def outcome_probs(lead, when, variant):
    role, ind, country, src = (norm(lead[k]) for k in ("role", "industry", "country", "source"))
    score = lead["score"]
    no_email = not lead["email"].strip()
    p_bounce = 0.3 if no_email else 0.01 + SOURCE_BOUNCE.get(src, 0)
    p_open = 0.42 + ROLE_OPEN.get(role, 0) + 0.04 * (ind == "saas") + (0 if score == "" else (score - 50) / 400)
    p_open -= 0.06 * (when.month == 12)
    p_reply = BASE_REPLY * ROLE_REPLY.get(role, 1) * INDUSTRY_REPLY.get(ind, 1) * COUNTRY_REPLY.get(country, 1)
    p_reply *= SOURCE_REPLY.get(src, 1) * SIZE_REPLY.get(norm(lead["company_size"]), 1)
    p_reply *= MONTH_REPLY.get(when.month, 1)
    p_reply *= 0.8 if score == "" else 0.4 + score / 80
    p_reply *= VARIANT_REPLY.get(variant, 1)
    p_reply *= HOUR_REPLY.get(when.hour, 1) * WEEKDAY_REPLY.get(when.weekday(), 1)
    if "webinar" in {norm(t) for t in lead["tags"].split(";")}:
        progress = (when - START_DATE).total_seconds() / (END_OF_DATA - START_DATE).total_seconds()
        p_reply *= WEBINAR_START + (WEBINAR_END - WEBINAR_START) * min(1.0, max(0.0, progress))
    return p_bounce, min(p_open, 0.9), min(p_reply, 0.45)


def make_sends(rng, campaigns, leads):
    rows = []
    for c in campaigns:
        pool = [l for l in leads if l["workspace_id"] == c["workspace_id"] and l["_created"] < c["_at"]]
        size = min(c["size"], len(pool))
        chosen = []
        if c["segment"]:
            target = [l for l in pool if matches(c["segment"], l)]
            chosen = rng.sample(target, min(len(target), int(size * 0.7)))
        picked = {l["id"] for l in chosen}
        chosen += rng.sample([l for l in pool if l["id"] not in picked], size - len(chosen))
        chosen.sort(key=lambda l: l["id"])
        tracked = c["workspace_id"] != UNTRACKED_WORKSPACE
        no_time = set(rng.sample(range(len(chosen)), 6)) if c.get("broken") else set()
        for i, lead in enumerate(chosen):
            variant = (rng.choice("AB") if rng.random() > 0.03 else "") if c["ab"] else ""
            sent = rng.random() > 0.015
            at = c["_at"] + timedelta(minutes=rng.randint(0, 360), seconds=rng.randint(0, 59))
            row_at = "" if (i in no_time or not sent or (rng.random() < 0.08 and not c.get("broken"))) else ts(at)
            when = at if row_at else c["_at"]
            pb, po, pr = outcome_probs(lead, when, variant)
            bounced = sent and rng.random() < pb
            replied = sent and not bounced and rng.random() < pr
            replied_at = when + timedelta(hours=1 + min(95, rng.expovariate(1 / 18)))
            if replied and replied_at > END_OF_DATA:
                replied = False  # the reply has not happened yet at export time
            opened = (sent and not bounced) and (rng.random() < 0.93 if replied else rng.random() < po)
            if not sent:
                opened = rng.random() < 0.1  # stray flag on an unsent row: must never count
            clicked = opened and rng.random() < (0.25 if replied else 0.13)
            converted = (replied and rng.random() < 0.3) or (clicked and rng.random() < 0.03)
            has_reply_time = replied and (row_at or c["sent_at"]) and rng.random() > 0.03
            rows.append({
                "id": len(rows) + 1, "campaign_id": c["id"], "lead_id": lead["id"], "sent": sent,
                "opened": opened, "replied": replied, "bounced": bounced,
                "clicked": clicked if tracked else None, "converted": converted if tracked else None,
                "sent_at": row_at, "replied_at": ts(replied_at.replace(microsecond=0)) if has_reply_time else "",
                "variant": variant,
            })
    return rows


def write_csv(path, columns, rows):
    def cell(v):
        return "" if v is None else ("true" if v is True else "false" if v is False else v)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(r[c]) for c in columns] for r in rows)


def yaml_scalar(value):
    if not isinstance(value, str):
        return str(value).lower()  # True -> true, 60 -> 60
    if value.replace(" ", "").isalpha() and value.lower() not in ("yes", "no", "on", "off", "true", "false"):
        return value
    return json.dumps(value)


def write_segments(path):
    lines = ["# Segment definitions (SPEC section 3). Generated by scripts/generate_demo_data.py.", "segments:"]
    for sid, name, ws, desc, filters in [*SEGMENTS, TINY_SEGMENT]:
        lines += [f"  - id: {sid}", f"    name: {yaml_scalar(name)}"]
        lines += [f"    workspace_id: {ws}"] if ws is not None else []
        lines += [f"    description: {yaml_scalar(desc)}"]
        if not filters:
            lines.append("    filters: {}")
            continue
        lines.append("    filters:")
        for key, val in filters.items():
            shown = "[" + ", ".join(map(yaml_scalar, val)) + "]" if isinstance(val, list) else yaml_scalar(val)
            lines.append(f"      {key}: {shown}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="seeds", help="output directory (default: seeds)")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    leads = make_leads(rng)
    campaigns = make_campaigns(rng)
    sends = make_sends(rng, campaigns, leads)
    tag_tiny_segment_leads(leads, sends, campaigns)
    write_csv(out / "workspaces.csv", ["id", "name"], [{"id": w[0], "name": w[1]} for w in WORKSPACES])
    write_csv(out / "leads.csv", ["id", "workspace_id", "email", "source", "score", "country", "role",
                                  "company_size", "industry", "tags", "created_at", "metadata"], leads)
    write_csv(out / "campaigns.csv", ["id", "workspace_id", "name", "segment_id", "sent_at"], campaigns)
    write_csv(out / "campaign_leads.csv", ["id", "campaign_id", "lead_id", "sent", "opened", "replied", "bounced",
                                           "clicked", "converted", "sent_at", "replied_at", "variant"], sends)
    write_segments(out / "segments.yml")
    print(f"wrote {len(leads)} leads, {len(campaigns)} campaigns, {len(sends)} campaign_leads to {out}/")


if __name__ == "__main__":
    main()
