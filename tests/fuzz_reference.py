"""Random small segpipe projects full of SPEC edge cases, and a plain-Python reference of
SPEC §2–§5, §7 and §9 written from the SPEC text (not from the models' SQL), for
tests/test_fuzz_reference.py and for longer fuzz rounds by hand:

    PYTHONPATH=. python -m tests.test_fuzz_reference 0 100   # seeds 0..99
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

Z = 1.959963984540054
UTC = dt.timezone.utc

# ---------------------------------------------------------------- generator

VOCAB = {
    "source": ["linkedin", "LinkedIn ", " apollo", "referral", "o'brien; --"],
    "country": ["US", " us", "DE", "de ", "FR"],
    "role": ["Founder", "founder ", "CEO", " cmo", "CMO"],
    "company_size": ["1-10", "11-50", " 1-10 "],
    "industry": ["SaaS", "saas ", "Fintech"],
}
TAGS = ["webinar", "Hiring", " HIRING ", "funding", "{{ 7*7 }}"]
FILTER_KEY = {"sources": "source", "countries": "country", "roles": "role", "company_sizes": "company_size",
              "industries": "industry"}


def _fmt_ts(rng, t: dt.datetime) -> str:
    """t (naive UTC) in one of the forms a user's export may have."""
    form = rng.randrange(7)
    if form == 5:
        return t.strftime("%Y-%m-%d %H:%M:%S") + rng.choice([".5", ".999", ".000001"])
    if form == 6 and t.time() == dt.time():
        return t.strftime("%Y-%m-%d")
    if form == 0 or form == 6:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if form == 1:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == 2:
        off = rng.choice([2, -5, 9, 5.5])
        local = t + dt.timedelta(hours=off)
        sign = "+" if off >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{int(abs(off)):02d}:{int(abs(off) % 1 * 60):02d}"
    if form == 3:
        return t.strftime("%Y-%m-%dT%H:%M:%S")
    return t.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _rand_time(rng, as_of: dt.date, days: int) -> dt.datetime:
    start = dt.datetime.combine(as_of - dt.timedelta(days=days - 1), dt.time())
    end = dt.datetime.combine(as_of, dt.time(23, 59, 59))
    pick = rng.randrange(10)
    if pick == 0:
        return start
    if pick == 1:
        return end
    if pick == 2:
        return start - dt.timedelta(seconds=1)
    if pick == 3:
        return end + dt.timedelta(seconds=1)
    if pick == 4:  # a day boundary inside the window
        d = rng.randrange(days)
        return start + dt.timedelta(days=d, seconds=rng.choice([0, 86399]))
    if pick < 8:  # the last week before as_of, where most windows look
        return end - dt.timedelta(seconds=rng.randrange(8 * 86400))
    span = int((end - start).total_seconds()) + 10 * 86400
    return start - dt.timedelta(days=5) + dt.timedelta(seconds=rng.randrange(span))


def _filter_values(rng, key):
    vocab = VOCAB[FILTER_KEY[key]] if key != "tags" else TAGS
    form = rng.randrange(6)
    if form == 0:
        return []
    if form == 1:
        return None
    values = rng.sample(vocab, rng.randint(1, 2))
    values = [v.upper() if rng.random() < .3 else v for v in values]
    values = [f"  {v} " if rng.random() < .3 else v for v in values]
    return values[0] if form == 2 else values


def generate(seed: int) -> dict:
    rng = random.Random(seed)
    as_of = dt.date(2025, 1, 31) + dt.timedelta(days=rng.choice([0, 0, 28, -31, 100]))
    days = rng.choice([1, 2, 7, 30, 365])
    fallback = rng.random() < 0.25
    attribution = rng.choice(["matching", "campaign"])
    n_leads = rng.randint(8, 20)
    leads = []
    for i in range(1, n_leads + 1):
        lead = {"id": i, "workspace_id": rng.choice([1, 1, 1, 2, 3]),
                "email": rng.choice([None, "", "  ", f"l{i}@x.io", f"l{i}@x.io"]),
                "score": rng.choice([None, 0, 100, 59.5, 60, 75, -5, 150, 80]),
                "created_at": "2024-12-01"}
        for col, vocab in VOCAB.items():
            lead[col] = rng.choice(vocab + [None])
        tags = rng.choice([None, "", "x"])
        if tags == "x":
            tags = ";".join(rng.sample(TAGS, rng.randint(1, 3)))
            if rng.random() < .2:
                tags += ";"
        lead["tags"] = tags
        if fallback:
            meta = {}
            if rng.random() < .8:
                meta["sent_at"] = _fmt_ts(rng, _rand_time(rng, as_of, days))
            for flag in ("opened", "replied", "bounced", "clicked", "converted"):
                r = rng.random()
                if r < .1:
                    meta[flag] = rng.choice(["yes", "t", "1", 1, "Y"])
                elif r < .15:
                    meta[flag] = rng.choice(["no", "f", "0", 0, "N"])
                elif r < .4:
                    meta[flag] = True
                elif r < .75:
                    meta[flag] = False
                elif r < .85:
                    meta[flag] = None
                elif r < .9:
                    meta[flag] = rng.choice(["", "  "])
            if rng.random() < .5 and "sent_at" in meta:
                base = parse_ts(meta["sent_at"])
                meta["replied_at"] = _fmt_ts(rng, base + dt.timedelta(hours=rng.uniform(-3, 60)))
            lead["metadata"] = json.dumps(meta) if rng.random() < .9 else None
        leads.append(lead)
    # many segments now and then: membership packs 64 segments in a word
    seg_ids = rng.sample(range(1, 15), rng.randint(3, 6)) if rng.random() < .85 else \
        rng.sample(range(1, 400), rng.choice([63, 64, 65, 129]))
    segments = []
    for sid in seg_ids:
        seg = {"id": sid, "name": rng.choice(["Seg", "Quote ' \\ -- ; {{ 1 }}", "Séga"]) + f" {sid}"}
        if rng.random() < .5:
            seg["workspace_id"] = rng.choice([1, 2, 3])
        filters = {}
        for key in ["sources", "countries", "roles", "company_sizes", "industries", "tags"]:
            if rng.random() < .12:
                filters[key] = _filter_values(rng, key)
        if rng.random() < .2:
            filters["min_score"] = rng.choice([0, 60, 100, 59.5, None])
        if rng.random() < .3:
            filters["has_email"] = rng.choice([True, False])
        if filters or rng.random() < .5:
            seg["filters"] = filters
        segments.append(seg)
    campaigns, sends = [], []
    if not fallback:
        for cid in range(1, rng.randint(3, 6) + 1):
            campaigns.append({"id": cid, "workspace_id": rng.choice([1, 1, 1, 2, 3, None]), "name": f"Camp {cid}",
                              "segment_id": rng.choice(seg_ids * 3 + [None, 99]),
                              "sent_at": rng.choice([None, _fmt_ts(rng, _rand_time(rng, as_of, days))])})
        for sid in range(1, rng.randint(30, 70) + 1):
            send = {"id": sid, "campaign_id": rng.choice([c["id"] for c in campaigns] + [77]) if rng.random() < .95
                    else 77,
                    "lead_id": rng.randint(1, n_leads) if rng.random() < .93 else 999,
                    "sent": rng.choice([True] * 12 + [False, False, None])}
            camp = next((c for c in campaigns if c["id"] == send["campaign_id"]), None)
            same = [l["id"] for l in leads if camp and l["workspace_id"] == camp["workspace_id"]]
            if same and send["lead_id"] != 999 and rng.random() < .7:
                send["lead_id"] = rng.choice(same)
            for flag in ("opened", "replied", "bounced"):
                send[flag] = rng.random() < .4 if rng.random() < .93 else None
            for flag in ("clicked", "converted"):
                send[flag] = rng.choice([None, True, False, False])
            own_time = rng.random() < .6
            send["sent_at"] = _fmt_ts(rng, _rand_time(rng, as_of, days)) if own_time else None
            if send["replied"] or rng.random() < .2:
                if rng.random() < .7:
                    camp = next((c for c in campaigns if c["id"] == send["campaign_id"]), {})
                    base = send["sent_at"] or camp.get("sent_at")
                    base = parse_ts(base) if base else dt.datetime.combine(as_of, dt.time(12))
                    send["replied_at"] = _fmt_ts(rng, base + dt.timedelta(hours=rng.uniform(-5, 80)))
            send["variant"] = rng.choice([None, "A", "B", "a", "B"])
            sends.append(send)
        # a lead sent by two campaigns
        if sends and len(campaigns) > 1:
            dup = dict(sends[0], id=len(sends) + 1, campaign_id=campaigns[1]["id"])
            sends.append(dup)
    # whole columns empty: nothing for CSV type detection to go on
    wipe = [("sends", c) for c in ("sent_at", "replied_at", "clicked", "converted", "variant", "opened")] + \
        [("campaigns", c) for c in ("sent_at", "segment_id", "workspace_id")] + \
        [("leads", c) for c in ("tags", "score", "email", "country", "metadata")]
    if rng.random() < .35:
        for table, col in rng.sample(wipe, rng.randint(1, 3)):
            rows = {"sends": sends, "campaigns": campaigns, "leads": leads}[table]
            for row in rows:
                row[col] = None
    # the other spellings of a CSV boolean
    for send in sends:
        for flag in ("sent", "opened", "replied", "bounced", "clicked", "converted"):
            if isinstance(send[flag], bool) and rng.random() < .15:
                send[flag] = rng.choice(["1", "yes", "T", " TRUE", "Y"] if send[flag] else ["0", "no", "F", "false ", "N"])
    return {"seed": seed, "as_of": as_of, "days": days, "fallback": fallback, "attribution": attribution,
            "leads": leads, "campaigns": campaigns, "sends": sends, "segments": segments}


# ---------------------------------------------------------------- reference


def parse_ts(value) -> dt.datetime | None:
    """A timestamp as naive UTC (naive input is UTC)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


def _norm(v):
    return None if v is None else str(v).strip().lower()


def _as_list(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return list(v)


def lead_matches(seg, lead) -> bool:
    if seg.get("workspace_id") is not None and lead["workspace_id"] != seg["workspace_id"]:
        return False
    filters = seg.get("filters") or {}
    for key, col in FILTER_KEY.items():
        wanted = {_norm(v) for v in _as_list(filters.get(key))}
        if wanted and _norm(lead.get(col)) not in wanted:
            return False
    wanted = {_norm(v) for v in _as_list(filters.get("tags"))}
    if wanted:
        tags = {_norm(t) for t in (lead.get("tags") or "").split(";")}
        if not wanted & tags:
            return False
    if filters.get("min_score") is not None:
        if lead.get("score") is None or lead["score"] < filters["min_score"]:
            return False
    if filters.get("has_email") is not None:
        present = lead.get("email") is not None and lead["email"].strip() != ""
        if present != filters["has_email"]:
            return False
    return True


def _flag(v):
    if v is None or isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text == "":
        return None
    return text in ("true", "t", "yes", "y", "1")


def all_sends(p) -> list[dict]:
    """Every send (sent = true) as {send_id, campaign_id, lead_id, time, flags..., replied_at, variant}."""
    out = []
    if p["fallback"]:
        for lead in p["leads"]:
            if not lead.get("metadata"):
                continue
            meta = json.loads(lead["metadata"])
            if not meta.get("sent_at"):
                continue
            out.append({"send_id": lead["id"], "campaign_id": None, "lead_id": lead["id"],
                        "time": parse_ts(meta["sent_at"]), "replied_at": parse_ts(meta.get("replied_at")),
                        "variant": None, **{f: _flag(meta.get(f)) for f in ("opened", "replied", "bounced", "clicked",
                                                                      "converted")}})
        return out
    camps = {c["id"]: c for c in p["campaigns"]}
    for s in p["sends"]:
        if _flag(s["sent"]) is not True:
            continue
        camp = camps.get(s["campaign_id"], {})
        out.append({"send_id": s["id"], "campaign_id": s["campaign_id"], "lead_id": s["lead_id"],
                    "time": parse_ts(s["sent_at"]) or parse_ts(camp.get("sent_at")),
                    "replied_at": parse_ts(s.get("replied_at")), "variant": s.get("variant"),
                    **{f: _flag(s.get(f)) for f in ("opened", "replied", "bounced", "clicked", "converted")}})
    return out


def counted_for(p) -> dict[int, list[dict]]:
    """segment id → the sends (with a send time) counted for it, all history."""
    leads = {l["id"]: l for l in p["leads"]}
    camps = {c["id"]: c for c in p["campaigns"]}
    segs = {s["id"]: s for s in p["segments"]}
    result = {sid: [] for sid in segs}
    for send in all_sends(p):
        if send["time"] is None:
            continue
        lead = leads.get(send["lead_id"])
        if lead is None:
            continue
        camp = camps.get(send["campaign_id"])
        if camp is not None and camp["workspace_id"] is not None and camp["workspace_id"] != lead["workspace_id"]:
            continue
        if p["attribution"] == "campaign":
            sid = camp.get("segment_id") if camp else None
            if sid in segs:
                seg = segs[sid]
                if seg.get("workspace_id") is None or seg["workspace_id"] == lead["workspace_id"]:
                    result[sid].append(send)
        else:
            for sid, seg in segs.items():
                if lead_matches(seg, lead):
                    result[sid].append(send)
    return result


def window(as_of: dt.date, days: int):
    return as_of - dt.timedelta(days=days - 1), as_of


def in_window(send, as_of, days) -> bool:
    start, end = window(as_of, days)
    return start <= send["time"].date() <= end


RATES = {"open_rate": ("opened", "leads_sent"), "reply_rate": ("replied", "leads_sent"),
         "bounce_rate": ("bounced", "leads_sent"), "click_rate": ("clicked", "clicks_tracked"),
         "conversion_rate": ("converted", "conversions_tracked")}


def figures(sends) -> dict:
    row = {"leads_sent": len(sends)}
    for f in ("opened", "replied", "bounced", "clicked", "converted"):
        row[f] = sum(1 for s in sends if s[f] is True)
    row["clicks_tracked"] = sum(1 for s in sends if s["clicked"] is not None)
    row["conversions_tracked"] = sum(1 for s in sends if s["converted"] is not None)
    for rate, (x, n) in RATES.items():
        row[rate] = row[x] / row[n] if row[n] else None
    hours = [(s["replied_at"] - s["time"]).total_seconds() / 3600 for s in sends
             if s["replied"] is True and s["replied_at"] is not None]
    row["avg_response_hours"] = sum(hours) / len(hours) if hours else None
    return row


def rnd(x, places=4):
    if x is None:
        return None
    return float(Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def wilson(x, n):
    if not n:
        return None, None
    p = x / n
    c = 1 + Z * Z / n
    mid = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    # exactly 0 (1) when x = 0 (n), as in exact arithmetic: float noise must not break ties
    return (0.0 if x == 0 else (mid - half) / c), (1.0 if x == n else (mid + half) / c)


def performance(p, as_of, days) -> dict[int, dict]:
    counted = counted_for(p)
    return {sid: figures([s for s in sends if in_window(s, as_of, days)]) for sid, sends in counted.items()}


def segment_leads(p) -> set:
    return {(s["id"], l["id"]) for s in p["segments"] for l in p["leads"] if lead_matches(s, l)}


def _shrunk(rows, metric):
    x_key, n_key = RATES[metric]
    pool = [r for r in rows if r[n_key] >= 1]
    k = len(pool)
    if not pool:
        return {}
    mu = sum(r[x_key] for r in pool) / sum(r[n_key] for r in pool)
    s2 = sum((r[x_key] / r[n_key] - mu) ** 2 for r in pool) / k
    m = sum(mu * (1 - mu) / r[n_key] for r in pool) / k
    tau2 = s2 - m
    out = {}
    if k >= 3 and 0 < mu < 1 and tau2 > 0:
        kappa = max(0.0, mu * (1 - mu) / tau2 - 1)
        for r in pool:
            out[r["segment_id"]] = (r[x_key] + mu * kappa) / (r[n_key] + kappa)
    else:
        for r in pool:
            out[r["segment_id"]] = mu
    return out


def ranked(p, as_of, days, metric="reply_rate", min_sent=1, workspace_id=None, rank_by="rate"):
    """top's ranked rows (full precision), every segment that qualifies."""
    perf = performance(p, as_of, days)
    rows = []
    for seg in p["segments"]:
        if workspace_id is not None and seg.get("workspace_id") != workspace_id:
            continue
        r = dict(perf[seg["id"]], segment_id=seg["id"], segment_name=seg["name"])
        if r["leads_sent"] < min_sent:
            continue
        x_key, n_key = RATES[metric]
        r["_low"], r["_high"] = wilson(r[x_key], r[n_key])
        rows.append(r)
    shr = _shrunk(rows, metric) if rank_by == "shrunk" else {}
    for r in rows:
        r["_shrunk"] = shr.get(r["segment_id"])
    asc = metric == "bounce_rate"
    key_of = {"rate": metric, "wilson": "_high" if asc else "_low", "shrunk": "_shrunk"}[rank_by]

    def key(r):
        v = r[key_of]
        if v is None:
            return (1, 0, -r["leads_sent"], r["segment_id"])
        return (0, v if asc else -v, -r["leads_sent"], r["segment_id"])
    rows.sort(key=key)
    return rows


def top_json(p, as_of, days, metric, min_sent, workspace_id, rank_by, limit):
    start, end = window(as_of, days)
    segs = []
    for r in ranked(p, as_of, days, metric, min_sent, workspace_id, rank_by)[:limit]:
        o = {k: r[k] for k in ("segment_id", "segment_name", "leads_sent", "opened", "replied", "bounced")}
        for k in ("open_rate", "reply_rate", "bounce_rate"):
            o[k] = rnd(r[k])
        if metric in ("click_rate", "conversion_rate"):
            o[RATES[metric][0]] = r[RATES[metric][0]]
            o[metric] = rnd(r[metric])
        if rank_by != "rate":
            o[metric + "_low"], o[metric + "_high"] = rnd(r["_low"]), rnd(r["_high"])
        if rank_by == "shrunk":
            o[metric + "_shrunk"] = rnd(r["_shrunk"])
        segs.append(o)
    return {"time_range_from": f"{start}T00:00:00Z", "time_range_to": f"{end}T23:59:59Z", "metric": metric,
            "segments": segs}


def _rate_obj(x, n, metric, extra=None):
    lo, hi = wilson(x, n)
    return {RATES[metric][0]: x, metric: rnd(x / n) if n else None, metric + "_low": rnd(lo), metric + "_high": rnd(hi)}


def trend_json(p, seg_ids, as_of, days, metric, by):
    start, end = window(as_of, days)
    counted = counted_for(p)
    segs = {s["id"]: s for s in p["segments"]}
    x_key, n_key = RATES[metric]

    def period(d):
        if by == "day":
            return d
        if by == "week":
            return d - dt.timedelta(days=d.weekday())
        return d.replace(day=1)
    periods = []
    d = start
    while d <= end:
        ps = max(period(d), start)
        if not periods or periods[-1] != ps:
            periods.append(ps)
        d += dt.timedelta(days=1)
    series = []
    for sid in seg_ids:
        points = []
        for ps in periods:
            sends = [s for s in counted[sid] if in_window(s, as_of, days) and max(period(s["time"].date()), start) == ps]
            f = figures(sends)
            lo, hi = wilson(f[x_key], f[n_key])
            points.append({"period_start": str(ps), "leads_sent": f["leads_sent"], x_key: f[x_key],
                           metric: rnd(f[metric]), metric + "_low": rnd(lo), metric + "_high": rnd(hi)})
        series.append({"segment_id": sid, "segment_name": segs[sid]["name"], "points": points})
    return {"metric": metric, "by": by, "time_range_from": f"{start}T00:00:00Z", "time_range_to": f"{end}T23:59:59Z",
            "series": series}


def fisher(a, b, c, d):
    """Two-sided Fisher exact p for [[a, b], [c, d]]."""
    r1, r2, c1 = a + b, c + d, a + c
    n = r1 + r2

    def prob(x):
        return math.comb(r1, x) * math.comb(r2, c1 - x) / math.comb(n, c1)
    obs = prob(a)
    lo, hi = max(0, c1 - r2), min(r1, c1)
    return min(1.0, sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= obs * (1 + 1e-7)))


def test_two(xa, na, xb, nb):
    """(difference, low, high, p, test) as compare defines them; all None when a side has n = 0."""
    if not na or not nb:
        return None, None, None, None, None
    pa, pb = xa / na, xb / nb
    la, ha = wilson(xa, na)
    lb, hb = wilson(xb, nb)
    d = pa - pb
    low = d - math.sqrt((pa - la) ** 2 + (hb - pb) ** 2)
    high = d + math.sqrt((ha - pa) ** 2 + (pb - lb) ** 2)
    N = na + nb
    cols = (xa + xb, N - xa - xb)
    expected = [r * c / N for r in (na, nb) for c in cols]
    if all(e >= 5 for e in expected):
        ph = (xa + xb) / N
        z = (pa - pb) / math.sqrt(ph * (1 - ph) * (1 / na + 1 / nb))
        pv = 2 * (1 - 0.5 * (1 + math.erf(abs(z) / math.sqrt(2))))
        return d, low, high, pv, "z"
    return d, low, high, fisher(xa, na - xa, xb, nb - xb), "fisher"


def compare_json(p, a, b, as_of, days, metric):
    counted = counted_for(p)
    segs = {s["id"]: s for s in p["segments"]}
    x_key, n_key = RATES[metric]
    sides = {}
    for label, sid in (("a", a), ("b", b)):
        f = figures([s for s in counted[sid] if in_window(s, as_of, days)])
        lo, hi = wilson(f[x_key], f[n_key])
        sides[label] = {"segment_id": sid, "segment_name": segs[sid]["name"], "leads_sent": f["leads_sent"],
                        x_key: f[x_key], metric: rnd(f[metric]), metric + "_low": rnd(lo),
                        metric + "_high": rnd(hi), "_x": f[x_key], "_n": f[n_key]}
    d, lo, hi, pv, test = test_two(sides["a"]["_x"], sides["a"]["_n"], sides["b"]["_x"], sides["b"]["_n"])
    ids_a = {s["send_id"] for s in counted[a] if in_window(s, as_of, days)}
    shared = sum(1 for s in counted[b] if in_window(s, as_of, days) and s["send_id"] in ids_a) if a != b else None
    start, end = window(as_of, days)
    for side in sides.values():
        side.pop("_x"), side.pop("_n")
    return {"metric": metric, "time_range_from": f"{start}T00:00:00Z", "time_range_to": f"{end}T23:59:59Z",
            "a": sides["a"], "b": sides["b"], "difference": rnd(d), "difference_low": rnd(lo),
            "difference_high": rnd(hi), "p_value": pv, "test": test,
            "significant": None if pv is None else pv < 0.05, "shared_sends": shared}


def bh(pvals):
    m = len(pvals)
    order = sorted(range(m), key=lambda i: pvals[i])
    adj = [None] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvals[i] * m / rank)
        adj[i] = min(1.0, running)
    return adj


def variants_json(p, sid, as_of, days, metric, campaign=None):
    """{campaign_id: {variant: row}} with rows as the JSON's."""
    counted = [s for s in counted_for(p)[sid] if in_window(s, as_of, days)]
    if campaign is not None:
        counted = [s for s in counted if s["campaign_id"] == campaign]
    x_key, n_key = RATES[metric]
    groups = {}
    for s in counted:
        groups.setdefault(s["campaign_id"], {}).setdefault(s["variant"] if s["variant"] is not None else "(none)",
                                                           []).append(s)
    out, comparisons = {}, []
    for cid, by_var in groups.items():
        figs = {v: figures(ss) for v, ss in by_var.items()}
        control = sorted(figs, key=lambda v: (-figs[v]["leads_sent"], v))[0]
        rows = {}
        for v, f in figs.items():
            lo, hi = wilson(f[x_key], f[n_key])
            row = {"variant": v, "control": v == control, "leads_sent": f["leads_sent"], x_key: f[x_key],
                   metric: rnd(f[metric]), metric + "_low": rnd(lo), metric + "_high": rnd(hi)}
            if v == control:
                row.update(difference=None, difference_low=None, difference_high=None, p_value=None, test=None,
                           p_adjusted=None, significant=None)
            else:
                c = figs[control]
                d, dl, dh, pv, test = test_two(f[x_key], f[n_key], c[x_key], c[n_key])
                row.update(difference=rnd(d), difference_low=rnd(dl), difference_high=rnd(dh), p_value=pv, test=test)
                if pv is not None:
                    comparisons.append(row)
                else:
                    row.update(p_adjusted=None, significant=None)
            rows[v] = row
        out[cid] = {"control": control, "variants": rows}
    adj = bh([r["p_value"] for r in comparisons])
    for r, a in zip(comparisons, adj):
        r["p_adjusted"], r["significant"] = a, a < 0.05
    return out


def best_time_json(p, sid, as_of, days, metric, by, tz, min_sent, workspace_id=None):
    counted = counted_for(p)
    if sid is not None:
        sends = [s for s in counted[sid] if in_window(s, as_of, days)]
    else:
        segs = [s for s in p["segments"] if workspace_id is None or s.get("workspace_id") == workspace_id]
        seen = {}
        for seg in segs:
            for s in counted[seg["id"]]:
                if in_window(s, as_of, days):
                    seen[s["send_id"]] = s
        sends = list(seen.values())
    zone = ZoneInfo(tz)

    def bucket(s):
        local = s["time"].replace(tzinfo=UTC).astimezone(zone)
        if by == "hour":
            return (local.hour,)
        if by == "weekday":
            return (local.isoweekday(),)
        return (local.isoweekday(), local.hour)
    keys = [(h,) for h in range(24)] if by == "hour" else [(w,) for w in range(1, 8)] if by == "weekday" else \
        [(w, h) for w in range(1, 8) for h in range(24)]
    names = {"hour": ["hour"], "weekday": ["weekday"], "weekday-hour": ["weekday", "hour"]}[by]
    x_key, n_key = RATES[metric]
    buckets = []
    best, best_key = None, None
    for k in keys:
        f = figures([s for s in sends if bucket(s) == k])
        lo, hi = wilson(f[x_key], f[n_key])
        b = dict(zip(names, k))
        b.update({"leads_sent": f["leads_sent"], x_key: f[x_key], metric: rnd(f[metric]), metric + "_low": rnd(lo),
                  metric + "_high": rnd(hi)})
        buckets.append(b)
        if f["leads_sent"] >= min_sent and lo is not None:
            score = (hi if metric == "bounce_rate" else -lo, -f["leads_sent"], k)
            if best_key is None or score < best_key:
                best, best_key = b, score
    return {"buckets": buckets, "best": best}
