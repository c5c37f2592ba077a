"""Deterministic synthetic data for the "fast at scale" benchmark.

segpipe must stay fast on real-world volumes (millions of leads, tens of
millions of sends, hundreds of segments).  This script writes the SPEC §2
sources as Parquet plus a SPEC §3 `segments.yml`, so every run of the
benchmark works on the same data:

    python benchmarks/generate.py --scale s|m|l --out DIR

Rows are produced inside DuckDB from `range()` with hash-based
pseudo-randomness (`hash(hash(row, salt))` mapped to [0, 1)), so generation is
fast, streams to disk with little memory, and the same inputs give the same
files (byte-identical with the same DuckDB version, whose hash() may change
between versions).  Only the few hundred segments are built in Python.

A lead's attributes are pure functions of its id, so the send outcomes
(which depend on role, score, country, industry and source) recompute them
instead of joining the leads table.
"""
import argparse
import math
import os
import random
import time
from datetime import datetime, timedelta

import duckdb
import yaml

END = datetime(2026, 11, 15)                 # last day of the twelve months of sends
START = END + timedelta(days=1) - timedelta(days=365)
SEED = 20261115
SCALES = {  # leads, sends, segments, campaigns
    "xs": (5_000, 50_000, 20, 300),  # for tests (tests/test_benchmark_equality.py)
    "s": (100_000, 1_000_000, 50, 500),
    "m": (1_000_000, 10_000_000, 200, 2_000),
    "l": (5_000_000, 50_000_000, 500, 5_000),
}
WORKSPACE_SHARE = [0.35, 0.25, 0.20, 0.12, 0.08]  # leads (and sends) per workspace
UNTRACKED_WORKSPACE = 5                           # clicked/converted are NULL there
PRIMES = [2147483647, 2147483629, 2147483587, 1000000007, 998244353]  # > any workspace

SOURCES = ["linkedin", "website", "referral", "event", "cold_list", "webinar", "partner", "import"]
COUNTRIES = ("US GB DE FR CA AU NL IN BR ES IT SE CH IE SG JP IL PL DK NO "
             "FI BE AT NZ MX AR ZA PT CZ RO AE KR CL CO TR GR HU UA EE LT").split()
ROLES = ["Founder", "Co-Founder", "CEO", "CTO", "COO", "CMO", "CFO", "CRO"] + [
    f"{fn} Manager" if level == "Manager" else f"{level} {fn}"
    for level in ("VP", "Head of", "Director of", "Manager")
    for fn in ("Sales", "Marketing", "Growth", "Engineering", "Product", "Operations", "Finance",
               "HR", "Partnerships", "Customer Success", "RevOps", "Data", "IT")]
COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1000+"]
INDUSTRIES = ["SaaS", "Fintech", "E-commerce", "Healthcare", "Education", "Marketing", "Manufacturing",
              "Logistics", "Real Estate", "Consulting", "Media", "Gaming", "Cybersecurity", "AI",
              "Insurance", "Retail", "Travel", "Energy", "Legal", "HR Tech", "Biotech", "Telecom",
              "Automotive", "Nonprofit", "Government", "Agriculture", "Construction", "Hospitality",
              "Food & Beverage", "Crypto"]
TAGS = ["vip", "hot", "warm", "cold", "newsletter", "webinar", "trial", "churned", "customer",
        "partner", "competitor", "enterprise", "smb", "midmarket", "inbound", "outbound",
        "demo-requested", "pricing-page", "ebook", "event-2026", "event-2025", "nurture", "champion",
        "decision-maker", "budget-ok", "no-budget", "renewal", "upsell", "referral", "beta",
        "api-user", "mobile", "free-plan", "pro-plan", "annual", "monthly", "emea", "amer", "apac",
        "latam", "re-engaged", "unsubscribed-once", "podcast", "case-study", "g2", "capterra",
        "product-hunt", "hackathon", "student", "agency"]
CAMPAIGN_KINDS = ["Intro", "Follow-up", "Webinar invite", "Case study", "Re-engage", "Launch"]
TAG_COUNT_CDF = [0.25, 0.55, 0.80, 0.92, 1.0]  # P(tags per lead <= 0, 1, 2, 3, 4)
# attribute: (filter key, values, zipf exponent, null rate); higher exponent = heavier head
ATTRS = {
    "source": ("sources", SOURCES, 2.0, 0.0),
    "country": ("countries", COUNTRIES, 3.5, 0.02),
    "role": ("roles", ROLES, 3.0, 0.02),
    "company_size": ("company_sizes", COMPANY_SIZES, 1.5, 0.02),
    "industry": ("industries", INDUSTRIES, 2.5, 0.02),
}
TAG_EXP, SCORE_NULL, SCORE_EXP, EMAIL_MISSING = 3.0, 0.10, 0.8, 0.09


def lit(values):
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def factors(n, mult):
    """Per-value outcome multipliers in [0.6, 1.5], deterministic but irregular."""
    return "[" + ", ".join(f"{0.6 + 0.9 * ((i * mult + n // 2) % n) / max(n - 1, 1):.3f}" for i in range(n)) + "]"


def value_probs(n, k):
    """P(index i) of ix(): floor(n * u**k) for u uniform in [0, 1)."""
    return [((i + 1) / n) ** (1 / k) - (i / n) ** (1 / k) for i in range(n)]


def setup(con, n_leads):
    con.execute("SET enable_progress_bar = false; SET memory_limit = '3GB'; "
                "SET preserve_insertion_order = true")
    # hash(x, salt) alone is strongly correlated across salts; hashing it again decorrelates.
    con.execute("CREATE MACRO u(x, salt) AS hash(hash(x, salt)) / 18446744073709551616.0")
    con.execute("CREATE MACRO ix(x, salt, n, k) AS least(n - 1, floor(n * pow(u(x, salt), k)))::INTEGER")
    con.execute("""CREATE MACRO messy(v, x, salt) AS CASE
        WHEN u(x, salt) < 0.015 THEN ' ' || lower(v) WHEN u(x, salt) < 0.03 THEN v || ' '
        WHEN u(x, salt) < 0.04 THEN upper(v) ELSE v END""")
    con.execute(f"""CREATE MACRO lead_score(x) AS CASE WHEN u(x, 'score_null') < {SCORE_NULL} THEN NULL
        ELSE round(100 * pow(u(x, 'score'), {SCORE_EXP})) END::DOUBLE""")
    con.execute(f"CREATE MACRO email_ok(x) AS u(x, 'email') >= {EMAIL_MISSING}")
    bounds, lo = [], 1
    for w, share in enumerate(WORKSPACE_SHARE, 1):
        hi = n_leads + 1 if w == len(WORKSPACE_SHARE) else lo + round(share * n_leads)
        bounds.append((w, lo, hi - lo))
        lo = hi
    con.execute("CREATE TABLE ws AS SELECT * FROM (VALUES " + ", ".join(
        f"({w}::BIGINT, 'Workspace {w}', {lo}, {size})" for w, lo, size in bounds) + ") t(id, name, lo, size)")
    return bounds


def attr_index(name, x):
    _, values, k, _ = ATTRS[name]
    return f"ix({x}, '{name}', {len(values)}, {k})"


def write_leads(con, n_leads, bounds, path):
    ws_case = "CASE " + " ".join(f"WHEN id < {lo + size} THEN {w}" for w, lo, size in bounds) + " END"
    attrs = ",\n".join(
        f"CASE WHEN u(id, '{a}_null') < {null} THEN NULL "
        f"ELSE messy({lit(vals)}[1 + {attr_index(a, 'id')}], id, '{a}_messy') END AS {a}"
        for a, (_, vals, _, null) in ATTRS.items())
    tag_count = "CASE " + " ".join(f"WHEN u(id, 'ntags') < {c} THEN {i}"
                                   for i, c in enumerate(TAG_COUNT_CDF)) + " END"
    span = int((END - datetime(2023, 1, 1)).total_seconds())
    con.execute(f"""COPY (
        SELECT id, ({ws_case})::BIGINT AS workspace_id,
          CASE WHEN email_ok(id) THEN 'lead' || id || '@company' || (id % 9973) || '.example.com'
               WHEN u(id, 'email') < 0.07 THEN NULL ELSE (CASE WHEN id % 2 = 0 THEN '' ELSE '  ' END) END AS email,
          {attrs},
          list_distinct([messy({lit(TAGS)}[1 + ix(id, 'tag' || k, {len(TAGS)}, {TAG_EXP})], id, 'tagm' || k)
                         FOR k IN range({tag_count})]) AS tags,
          lead_score(id) AS score,
          TIMESTAMP '2023-01-01' + to_seconds((u(id, 'created') * {span})::BIGINT) AS created_at,
          CASE WHEN u(id, 'meta') < 0.03 THEN json_object('utm_source', 'import',
               'sent_at', strftime(TIMESTAMP '{START}' + to_seconds((u(id, 'meta_t') * 31536000)::BIGINT), '%Y-%m-%dT%H:%M:%SZ'),
               'opened', u(id, 'meta_o') < 0.4, 'replied', u(id, 'meta_r') < 0.05,
               'bounced', u(id, 'meta_b') < 0.03)::VARCHAR END AS metadata
        FROM range(1, {n_leads + 1}) r(id)) TO '{path}' (FORMAT parquet)""")


def write_campaigns(con, n_campaigns, n_sends, segments, path):
    """Campaign ids follow send time; each owns a contiguous block of campaign_leads ids."""
    seg_rows = ", ".join(f"({s['id']}, {s.get('workspace_id', 'NULL')})" for s in segments)
    con.execute(f"CREATE TABLE seg AS SELECT * FROM (VALUES {seg_rows}) t(id, workspace_id)")
    cum = [sum(WORKSPACE_SHARE[:i + 1]) for i in range(len(WORKSPACE_SHARE) - 1)]
    ws_case = "CASE " + " ".join(f"WHEN u(i, 'c_ws') < {c} THEN {w}" for w, c in enumerate(cum, 1)) \
        + f" ELSE {len(WORKSPACE_SHARE)} END"
    span = 362 * 86400  # last sends can slip up to 3 days after the campaign
    con.execute(f"""CREATE TABLE camp AS
        WITH c AS (
          SELECT i, ({ws_case})::BIGINT AS workspace_id, 300 + (1400 * u(i, 'c_size'))::BIGINT AS weight,
                 TIMESTAMP '{START}' + to_seconds((u(i, 'c_time') * {span})::BIGINT) AS sent_at
          FROM range({n_campaigns}) r(i)),
        numbered AS (
          SELECT row_number() OVER (ORDER BY sent_at, i) AS id, * FROM c),
        sized AS (
          SELECT *, (sum(weight) OVER (ORDER BY id) * {n_sends} // sum(weight) OVER ())::BIGINT AS row_end
          FROM numbered)
        SELECT s.id, s.workspace_id, s.sent_at, strftime(s.sent_at, '%Y-%m') AS month, s.row_end,
               coalesce(lag(s.row_end) OVER (ORDER BY s.id), 0) AS row_start,
               ws.lo, ws.size, (u(s.id, 'c_off') * ws.size)::BIGINT AS offset0,
               ({PRIMES})[1 + s.id % {len(PRIMES)}]::BIGINT AS stride,
               'Campaign ' || s.id || ' - ' || ({lit(CAMPAIGN_KINDS)})[1 + ix(s.id, 'c_name', {len(CAMPAIGN_KINDS)}, 1.5)] AS name,
               CASE WHEN u(s.id, 'c_seg') < 0.3 THEN NULL ELSE
                 (SELECT list(g.id ORDER BY g.id) FROM seg g WHERE g.workspace_id IS NULL OR g.workspace_id = s.workspace_id)
                 [1 + (u(s.id, 'c_segpick') * (SELECT count(*) FROM seg g WHERE g.workspace_id IS NULL OR g.workspace_id = s.workspace_id))::BIGINT]
               END::BIGINT AS segment_id
        FROM sized s JOIN ws ON ws.id = s.workspace_id ORDER BY s.id""")
    too_big = con.execute("SELECT count(*) FROM camp WHERE row_end - row_start > size").fetchone()[0]
    assert too_big == 0, "a campaign has more sends than its workspace has leads"
    con.execute(f"COPY (SELECT id, workspace_id, name, segment_id, sent_at FROM camp ORDER BY id) "
                f"TO '{path}' (FORMAT parquet)")


def write_campaign_leads(con, out_dir):
    """One file per calendar month of campaign send time."""
    os.makedirs(out_dir, exist_ok=True)
    f = {a: f"{factors(len(v), mult)}[1 + {attr_index(a, 'lead_id')}]"
         for a, (_, v, _, _), mult in zip(ATTRS, ATTRS.values(), (3, 7, 11, 5, 13))}
    for (month,) in con.execute("SELECT DISTINCT month FROM camp ORDER BY month").fetchall():
        # One month's rows with their campaign: scanning a table is parallel and, without a join,
        # lets COPY keep row order (byte-identical output).
        con.execute("CREATE OR REPLACE TEMP TABLE ids AS SELECT id, workspace_id, sent_at, row_start, lo, size, "
                    f"offset0, stride, unnest(range(row_start, row_end)) AS i FROM camp WHERE month = '{month}'")
        con.execute(f"""COPY (
          WITH base AS (
            SELECT i + 1 AS id, c.id AS campaign_id, c.workspace_id,
                   c.lo + (c.offset0 + (i - c.row_start) * c.stride) % c.size AS lead_id,
                   CASE WHEN u(i, 'sent_at_null') < 0.05 THEN NULL
                        ELSE c.sent_at + to_seconds((u(i, 'jitter') * 259200)::BIGINT) END AS sent_at,
                   c.sent_at AS campaign_sent_at
            FROM ids c),
          p AS (
            SELECT *, coalesce(sent_at, campaign_sent_at) AS send_ts,
                   least(0.5, 0.02 * (2.1 - {f['source']}) * CASE WHEN email_ok(lead_id) THEN 1 ELSE 6 END) AS p_bounce,
                   least(0.9, 0.42 * {f['country']} * {f['industry']}) AS p_open,
                   least(0.6, 0.11 * {f['role']} * {f['source']} * (0.4 + coalesce(lead_score(lead_id), 40) / 80)) AS p_reply,
                   0.15 * {f['industry']} * {f['company_size']} AS p_click
            FROM base),
          flags AS (
            SELECT *, u(id, 'bounced') < p_bounce AS bounced,
                   u(id, 'bounced') >= p_bounce AND u(id, 'opened') < p_open AS opened
            FROM p),
          flags2 AS (
            SELECT *, opened AND u(id, 'replied') < p_reply AS replied,
                   opened AND u(id, 'clicked') < p_click AS clicked0 FROM flags)
          SELECT id, campaign_id, lead_id, u(id, 'sent') < 0.97 AS sent, opened, replied, bounced,
                 CASE WHEN workspace_id <> {UNTRACKED_WORKSPACE} THEN clicked0 END AS clicked,
                 CASE WHEN workspace_id <> {UNTRACKED_WORKSPACE}
                      THEN (replied AND u(id, 'conv') < 0.25) OR (clicked0 AND u(id, 'conv') < 0.02) END AS converted,
                 sent_at,
                 CASE WHEN replied AND u(id, 'replied_at_null') >= 0.03
                      THEN send_ts + to_seconds((-ln(1 - u(id, 'reply_delay')) * 20 * 3600)::BIGINT) END AS replied_at,
                 CASE WHEN u(id, 'variant') < 0.1 THEN NULL WHEN u(id, 'variant') < 0.55 THEN 'A'
                      WHEN u(id, 'variant') < 0.95 THEN 'B' ELSE 'C' END AS variant
          FROM flags2) TO '{out_dir}/{month}.parquet' (FORMAT parquet)""")


def key_selectivity(key, values):
    """Fraction of leads matching one filter key (attributes are independent by construction)."""
    if key == "min_score":
        return (1 - SCORE_NULL) * (1 - min(1.0, max(0.0, (values - 0.5) / 100)) ** (1 / SCORE_EXP))
    if key == "has_email":
        return 1 - EMAIL_MISSING if values else EMAIL_MISSING
    if key == "tags":
        probs = dict(zip(TAGS, value_probs(len(TAGS), TAG_EXP)))
        p_any = sum(probs[v.strip().lower()] for v in set(x.strip().lower() for x in values))
        p_count = [b - a for a, b in zip([0.0] + TAG_COUNT_CDF, TAG_COUNT_CDF)]
        return 1 - sum(pc * (1 - p_any) ** n for n, pc in enumerate(p_count))
    _, vals, k, null = next(a for a in ATTRS.values() if a[0] == key)
    probs = dict(zip((v.lower() for v in vals), value_probs(len(vals), k)))
    return (1 - null) * sum(probs[v] for v in set(x.strip().lower() for x in values))


def random_filters(rng, n_keys):
    """n_keys ANDed keys; list keys get 1-5 values, popular values more likely."""
    pools = {key: vals for key, vals, _, _ in ATTRS.values()} | {"tags": TAGS}
    exps = {key: k for key, _, k, _ in ATTRS.values()} | {"tags": TAG_EXP}
    filters = {}
    for key in rng.sample(list(pools) + ["min_score", "has_email"], n_keys):
        if key == "min_score":
            filters[key] = rng.choice([20, 30, 40, 50, 60, 70, 80, 90])
        elif key == "has_email":
            filters[key] = rng.random() < 0.85
        else:
            weights = [p ** 0.5 for p in value_probs(len(pools[key]), exps[key])]
            picked = dict.fromkeys(rng.choices(pools[key], weights, k=rng.randint(1, 5)))
            filters[key] = [rng.choice([v.lower(), f" {v}", v.upper()]) if rng.random() < 0.05 else v
                            for v in picked]
    return filters


def make_segments(n_segments, seed):
    """Segments matching a log-uniform 0.1%-30% of the leads in their scope (workspace or all).

    Each segment gets 1-4 keys; of 100 random filter sets the one whose expected selectivity
    is closest to the target wins."""
    rng = random.Random(seed)
    segments = []
    for sid in range(1, n_segments + 1):
        workspace = None if rng.random() < 0.3 else rng.randint(1, len(WORKSPACE_SHARE))
        target, n_keys = math.exp(rng.uniform(math.log(0.001), math.log(0.3))), rng.randint(1, 4)
        best = min((random_filters(rng, n_keys) for _ in range(100)), key=lambda f: abs(math.log(
            math.prod(key_selectivity(k, v) for k, v in f.items()) / target)))
        label = [str(v[0] if isinstance(v, list) else f"{k}={v}").strip() for k, v in best.items()]
        seg = {"id": sid, "name": f"{' / '.join(label[:3])} #{sid}"}
        if workspace is not None:
            seg["workspace_id"] = workspace
        scope = "all leads" if workspace is None else f"workspace {workspace}'s leads"
        seg["description"] = f"Synthetic segment, target {target:.2%} of {scope}"
        seg["filters"] = best
        segments.append(seg)
    return segments


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=SCALES, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n_leads, n_sends, n_segments, n_campaigns = SCALES[args.scale]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    segments = make_segments(n_segments, SEED)
    with open(os.path.join(out, "segments.yml"), "w") as fh:
        yaml.safe_dump({"segments": segments}, fh, sort_keys=False, allow_unicode=True)
    con = duckdb.connect()
    bounds = setup(con, n_leads)
    con.execute(f"COPY (SELECT id, name FROM ws ORDER BY id) TO '{out}/workspaces.parquet' (FORMAT parquet)")
    write_leads(con, n_leads, bounds, f"{out}/leads.parquet")
    write_campaigns(con, n_campaigns, n_sends, segments, f"{out}/campaigns.parquet")
    write_campaign_leads(con, f"{out}/campaign_leads")
    print(f"scale {args.scale}: {n_leads:,} leads, {n_sends:,} sends, {n_segments} segments "
          f"-> {out} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
