"""Differential test: random small projects (tests/fuzz_reference.py's generator) run
through `segpipe run` and the read commands (top, export leads --top, trend, compare,
variants, best-time, and two incremental reruns), compared with the plain-Python
reference of the SPEC in tests/fuzz_reference.py. Fixed seeds, so a failure is
reproducible; more seeds by hand with `python -m tests.test_fuzz_reference FROM TO`."""

from __future__ import annotations

import csv
import io
import json
import random
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from segpipe.cli import app
from tests import fuzz_reference as R
from tests.conftest import make_project

#: metadata fallback (2); campaign attribution (3, 11); matching over 365 days (9); campaigns
#: without workspace_id and sent_at (13); sends without their own sent_at (15)
SEEDS = [2, 3, 9, 11, 13, 15]
COUNT = {"projects": 0, "commands": 0}


def sp(*args):
    """The CLI in-process, as the tests' `cli` fixture runs it; returns code, stdout, stderr."""
    COUNT["commands"] += 1
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def close(a, b, path, diffs, tol=1e-9):
    if isinstance(a, dict) and isinstance(b, dict):
        if (list(a) != list(b)) if path.startswith("top") else (set(b) - set(a)):
            diffs.append(f"{path}: keys {list(a)} != {list(b)}")
        for k in a.keys() & b.keys():
            close(a[k], b[k], f"{path}.{k}", diffs, tol)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{path}: len {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]", diffs, tol)
        return
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None or isinstance(a, str) or isinstance(b, str):
        if a != b:
            diffs.append(f"{path}: segpipe {a!r} != ref {b!r}")
        return
    if abs(a - b) > tol * max(1, abs(b)):
        diffs.append(f"{path}: segpipe {a!r} != ref {b!r}")


def build(p, root: Path):
    make_project(root, leads=p["leads"], campaigns=p["campaigns"], campaign_leads=p["sends"], segments=p["segments"],
                 project={"vars": {"days": p["days"], "attribution": p["attribution"]}},
                 with_campaigns=not p["fallback"])


def rewrite(p, root: Path, vars_in_project=True):
    """Write p's sources over an existing project (keeping out.duckdb and target/)."""
    import yaml
    from tests.conftest import CAMPAIGN_COLUMNS, LEAD_COLUMNS, SEND_COLUMNS, write_csv
    config = {"name": "test_project", "database": "out.duckdb",
              "vars": {"days": p["days"], "attribution": p["attribution"]} if vars_in_project else {"days": 30}}
    (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    write_csv(root / "seeds/leads.csv", LEAD_COLUMNS, p["leads"])
    if not p["fallback"]:
        write_csv(root / "seeds/campaigns.csv", CAMPAIGN_COLUMNS, p["campaigns"])
        write_csv(root / "seeds/campaign_leads.csv", SEND_COLUMNS, p["sends"])
    (root / "seeds/segments.yml").write_text(yaml.safe_dump({"segments": p["segments"]}, sort_keys=False,
                                                             allow_unicode=True))


def mutate(p, rng):
    """A later export of the same app: recent sends added or edited, and sometimes leads, segments,
    campaigns or the attribution changed."""
    import copy
    q = copy.deepcopy(p)
    prev = p["as_of"]
    q["as_of"] = prev + R.dt.timedelta(days=rng.choice([0, 1, 2, 1, -6]))
    kinds = rng.sample(["sends", "sends", "leads", "segments", "campaigns", "attribution", "days", "delete",
                        "future", "nothing"], 2)
    recent_lo = R.dt.datetime.combine(prev - R.dt.timedelta(days=2), R.dt.time())
    recent_hi = R.dt.datetime.combine(max(q["as_of"], prev), R.dt.time(23, 59, 59))

    def recent():
        return recent_lo + R.dt.timedelta(seconds=rng.randrange(int((recent_hi - recent_lo).total_seconds()) + 1))
    if "sends" in kinds:
        if q["fallback"]:
            for lead in rng.sample(q["leads"], min(4, len(q["leads"]))):
                meta = {"sent_at": R._fmt_ts(rng, recent()), "opened": rng.random() < .5, "replied": rng.random() < .5}
                lead["metadata"] = json.dumps(meta)
        else:
            for s in q["sends"]:
                t = R.parse_ts(s["sent_at"])
                if t is not None and t >= recent_lo and rng.random() < .5:
                    s["replied"] = not R._flag(s["replied"])
                    s["clicked"] = rng.choice([None, True, False])
            n = len(q["sends"])
            for i in range(rng.randint(1, 8)):
                q["sends"].append({"id": n + 1 + i, "campaign_id": rng.choice([c["id"] for c in q["campaigns"]]),
                                   "lead_id": rng.randint(1, len(q["leads"])), "sent": True,
                                   "opened": rng.random() < .5, "replied": rng.random() < .4, "bounced": False,
                                   "clicked": rng.choice([None, True]), "converted": None,
                                   "sent_at": R._fmt_ts(rng, recent()), "replied_at": None,
                                   "variant": rng.choice([None, "A", "B"])})
    if "delete" in kinds and not q["fallback"]:
        q["sends"] = [s for s in q["sends"] if not (R.parse_ts(s["sent_at"]) and R.parse_ts(s["sent_at"]) >= recent_lo
                                                    and rng.random() < .5)]
    if "future" in kinds and not q["fallback"]:
        n = max([s["id"] for s in q["sends"]] + [0])
        q["sends"].append({"id": n + 1, "campaign_id": q["campaigns"][0]["id"], "lead_id": 1, "sent": True,
                           "opened": True, "replied": True, "bounced": False, "clicked": None, "converted": None,
                           "sent_at": "2030-06-01 10:00:00", "replied_at": None,
                           "variant": None})
    if "leads" in kinds:
        for lead in rng.sample(q["leads"], 3):
            lead["country"] = rng.choice(R.VOCAB["country"])
            lead["workspace_id"] = rng.choice([1, 2])
            lead["score"] = rng.choice([None, 0, 100, 70])
    if "segments" in kinds:
        seg = rng.choice(q["segments"])
        seg["filters"] = {"countries": [rng.choice(R.VOCAB["country"])]} if rng.random() < .5 else {}
        seg["workspace_id"] = rng.choice([None, 1, 2])
        if seg["workspace_id"] is None:
            del seg["workspace_id"]
    if "campaigns" in kinds and q["campaigns"]:
        camp = rng.choice(q["campaigns"])
        camp["workspace_id"] = rng.choice([1, 2, 3])
        camp["segment_id"] = rng.choice([s["id"] for s in q["segments"]])
    if "attribution" in kinds:
        q["attribution"] = "campaign" if q["attribution"] == "matching" else "matching"
    if "days" in kinds:
        q["days"] = rng.choice([1, 7, 30, 365])
    return q, kinds


def check_published(p, root, diffs, tag=""):
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    perf = R.performance(p, p["as_of"], p["days"])
    cols = ["segment_id", "segment_name", "workspace_id", "leads_sent", "opened", "replied", "bounced", "clicked",
            "converted", "clicks_tracked", "conversions_tracked", "open_rate", "reply_rate", "bounce_rate",
            "click_rate", "conversion_rate", "avg_response_hours"]
    got = {row[0]: dict(zip(cols, row)) for row in con.execute(f"select {', '.join(cols)} from segment_performance").fetchall()}
    segs = {s["id"]: s for s in p["segments"]}
    if set(got) != set(segs):
        diffs.append(f"{tag}segment_performance ids {sorted(got)} != {sorted(segs)}")
    for sid, row in got.items():
        exp = dict(perf[sid], segment_id=sid, segment_name=segs[sid]["name"], workspace_id=segs[sid].get("workspace_id"))
        close({k: row[k] for k in cols}, {k: exp[k] for k in cols}, f"{tag}segment_performance[{sid}]", diffs)
    sl = {(a, b): c for a, b, c in con.execute("select segment_id, lead_id, workspace_id from segment_leads").fetchall()}
    exp_sl = R.segment_leads(p)
    if set(sl) != exp_sl:
        diffs.append(f"{tag}segment_leads extra {sorted(set(sl) - exp_sl)} missing {sorted(exp_sl - set(sl))}")
    lead_ws = {lead["id"]: lead["workspace_id"] for lead in p["leads"]}
    diffs += [f"{tag}segment_leads ({a},{b}) workspace {c} != lead's {lead_ws[b]}"
              for (a, b), c in sl.items() if c != lead_ws[b]]
    # daily, all history
    counted = R.counted_for(p)
    exp_daily = {}
    for sid, sends in counted.items():
        for s in sends:
            exp_daily.setdefault((sid, s["time"].date()), []).append(s)
    got_daily = {(a, b): (c, d) for a, b, c, d in
                 con.execute("select segment_id, day, leads_sent, replied from segment_performance_daily where leads_sent > 0").fetchall()}
    exp_d = {k: (len(v), sum(1 for s in v if s["replied"] is True)) for k, v in exp_daily.items()}
    if got_daily != exp_d:
        diffs.append(f"{tag}segment_performance_daily differs: extra {sorted(set(got_daily.items()) - set(exp_d.items()))[:5]}"
                     f" missing {sorted(set(exp_d.items()) - set(got_daily.items()))[:5]}")
    con.close()


def check_incremental(seed, p, root):
    rng = random.Random(seed * 13 + 5)
    diffs = []
    for step in range(2):
        q, kinds = mutate(p, rng)
        diffs += incremental_step(q, kinds, root, rng)
        if diffs:
            return diffs
        p = q
    return diffs


def incremental_step(q, kinds, root, rng):
    via_vars = rng.random() < .3
    rewrite(q, root, vars_in_project=not via_vars)
    args = ["run", "--project-dir", root, "--as-of", q["as_of"]]
    if via_vars:
        args += ["--vars", json.dumps({"days": q["days"], "attribution": q["attribution"]})]
    r = sp(*args)
    if r.returncode != 0:
        return [f"incremental run {kinds} failed rc={r.returncode}: {r.stderr.strip()[-500:]}"]
    diffs = []
    check_published(q, root, diffs, f"incr{kinds} ")
    days, metric = rng.choice([1, 7, 30]), rng.choice(list(R.RATES))
    r = sp("top", "--project-dir", root, "--as-of", q["as_of"], "--days", days, "--metric", metric, "--limit", 50,
           "--min-sent", 0, "--format", "json")
    close(json.loads(r.stdout), R.top_json(q, q["as_of"], days, metric, 0, None, "rate", 50), f"top-incr{kinds}", diffs)
    return diffs


def check(seed, base: Path):
    p = R.generate(seed)
    root = base / f"seed{seed}"
    build(p, root)
    diffs = []
    as_of = p["as_of"]
    r = sp("run", "--project-dir", root, "--as-of", as_of)
    if r.returncode != 0:
        return [f"run failed rc={r.returncode}: {r.stderr.strip()[-500:]}"]
    COUNT["projects"] += 1
    check_published(p, root, diffs)

    rng = random.Random(seed * 7 + 1)
    seg_ids = [s["id"] for s in p["segments"]]
    metrics = list(R.RATES)
    for _ in range(4):
        days = rng.choice([1, 7, 30, 365, p["days"]])
        d_as_of = as_of + R.dt.timedelta(days=rng.choice([0, 0, -1, -20, 3]))
        metric = rng.choice(metrics)
        min_sent = rng.choice([0, 1, 1, 2, 5])
        ws = rng.choice([None, None, 1, 2])
        rank_by = rng.choice(["rate", "rate", "wilson", "shrunk"])
        args = ["top", "--project-dir", root, "--as-of", d_as_of, "--days", days, "--metric", metric,
                "--min-sent", min_sent, "--rank-by", rank_by, "--limit", 50, "--format", "json"]
        if ws is not None:
            args += ["--workspace-id", ws]
        r = sp(*args)
        if r.returncode != 0:
            diffs.append(f"top {args[3:]} rc={r.returncode} {r.stderr.strip()}")
            continue
        close(json.loads(r.stdout), R.top_json(p, d_as_of, days, metric, min_sent, ws, rank_by, 50),
              f"top{args[3:]}", diffs)
        # export leads --top
        n = rng.randint(1, 3)
        out = root / "exp.csv"
        eargs = ["export", "leads", "--top", n, "--project-dir", root, "--as-of", d_as_of, "--days", days,
                 "--metric", metric, "--min-sent", min_sent, "--rank-by", rank_by, "--format", "csv", "--output", out]
        if ws is not None:
            eargs += ["--workspace-id", ws]
        r = sp(*eargs)
        if r.returncode != 0:
            diffs.append(f"export {eargs[3:]} rc={r.returncode} {r.stderr.strip()}")
        else:
            rows = list(csv.DictReader(io.StringIO(out.read_text())))
            got_e = {int(row["lead_id"]): set(map(int, filter(None, row["segment_ids"].split(";")))) for row in rows}
            if len(got_e) != len(rows):
                diffs.append("export leads: a lead twice")
            top_ids = [r_["segment_id"] for r_ in R.ranked(p, d_as_of, days, metric, min_sent, ws, rank_by)[:n]]
            exp_e = {}
            for sid, lid in R.segment_leads(p):
                if sid in top_ids:
                    exp_e.setdefault(lid, set()).add(sid)
            if got_e != exp_e:
                diffs.append(f"export leads {eargs[3:]}: {got_e} != {exp_e}")
    # trend
    for _ in range(2):
        ids = rng.sample(seg_ids, 2)
        days, by, metric = rng.choice([1, 7, 30, 365]), rng.choice(["day", "week", "month"]), rng.choice(metrics)
        r = sp("trend", *ids, "--project-dir", root, "--as-of", as_of, "--days", days, "--by", by, "--metric", metric,
               "--format", "json")
        if r.returncode != 0:
            diffs.append(f"trend rc={r.returncode} {r.stderr.strip()}")
        else:
            close(json.loads(r.stdout), R.trend_json(p, ids, as_of, days, metric, by), f"trend{ids,days,by,metric}", diffs)
    # compare
    for _ in range(2):
        a, b = rng.sample(seg_ids, 2)
        days, metric = rng.choice([7, 30, 365]), rng.choice(metrics)
        r = sp("compare", a, b, "--project-dir", root, "--as-of", as_of, "--days", days, "--metric", metric,
               "--format", "json")
        if r.returncode != 0:
            diffs.append(f"compare {a} {b} {days} {metric} rc={r.returncode} {r.stderr.strip()}")
        else:
            g = json.loads(r.stdout)
            e = R.compare_json(p, a, b, as_of, days, metric)
            gp, ep = g.pop("p_value"), e.pop("p_value")
            close(g, e, f"compare{a,b,days,metric}", diffs)
            if (gp is None) != (ep is None) or (gp is not None and abs(gp - ep) > 1e-5 * max(ep, 1e-300)):
                diffs.append(f"compare{a,b,days,metric}.p_value {gp} != {ep}")
    # variants
    for _ in range(2):
        sid = rng.choice(seg_ids)
        days, metric = rng.choice([7, 30, 365]), rng.choice(metrics)
        camp = rng.choice([None, None] + [c["id"] for c in p["campaigns"]])
        args = ["variants", sid, "--project-dir", root, "--as-of", as_of, "--days", days, "--metric", metric,
                "--format", "json"]
        if camp is not None:
            args += ["--campaign", camp]
        r = sp(*args)
        if r.returncode != 0:
            diffs.append(f"variants {args[1:2] + args[5:]} rc={r.returncode} {r.stderr.strip()}")
            continue
        g = json.loads(r.stdout)
        e = R.variants_json(p, sid, as_of, days, metric, camp)
        gc = {c["campaign_id"]: c for c in g["campaigns"]}
        if set(gc) != set(e):
            diffs.append(f"variants {sid,days,metric,camp}: campaigns {sorted(gc, key=str)} != {sorted(e, key=str)}")
        for cid in gc.keys() & e.keys():
            if gc[cid]["control"] != e[cid]["control"]:
                diffs.append(f"variants {sid,days,metric,camp} c{cid} control {gc[cid]['control']} != {e[cid]['control']}")
            gv = {v["variant"]: v for v in gc[cid]["variants"]}
            ev = e[cid]["variants"]
            if set(gv) != set(ev):
                diffs.append(f"variants {sid,days,metric,camp} c{cid} variants {sorted(gv)} != {sorted(ev)}")
            for v in gv.keys() & ev.keys():
                gg, ee = dict(gv[v]), dict(ev[v])
                for key in ("p_value", "p_adjusted"):
                    x, y = gg.pop(key), ee.pop(key)
                    if (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-5 * max(y, 1e-300)):
                        diffs.append(f"variants {sid,days,metric,camp} c{cid}/{v}.{key} {x} != {y}")
                close(gg, ee, f"variants {sid,days,metric,camp} c{cid}/{v}", diffs)
    # best-time
    for _ in range(3):
        sid = rng.choice(seg_ids + [None])
        days, metric = rng.choice([7, 30, 365]), rng.choice(metrics)
        by = rng.choice(["hour", "weekday", "weekday-hour"])
        tz = rng.choice(["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"])
        min_sent = rng.choice([1, 2, 3])
        ws = rng.choice([None, 1]) if sid is None else None
        args = ["best-time"] + ([sid] if sid is not None else []) + [
            "--project-dir", root, "--as-of", as_of, "--days", days, "--metric", metric, "--by", by, "--tz", tz,
            "--min-sent", min_sent, "--format", "json"]
        if ws is not None:
            args += ["--workspace-id", ws]
        r = sp(*args)
        if r.returncode != 0:
            diffs.append(f"best-time {sid,days,metric,by,tz,ws} rc={r.returncode} {r.stderr.strip()}")
            continue
        g = json.loads(r.stdout)
        e = R.best_time_json(p, sid, as_of, days, metric, by, tz, min_sent, ws)
        close({"buckets": g["buckets"], "best": g["best"]}, e, f"best-time {sid,days,metric,by,tz,min_sent,ws}", diffs)
    if not diffs:
        diffs += check_incremental(seed, p, root)
    return diffs


@pytest.mark.parametrize("seed", SEEDS)
def test_random_project_matches_the_reference(seed, tmp_path):
    assert check(seed, tmp_path) == []


if __name__ == "__main__":
    lo, hi = int(sys.argv[1]), int(sys.argv[2])
    bad = 0
    with tempfile.TemporaryDirectory() as base:
        for seed in range(lo, hi):
            diffs = check(seed, Path(base))
            if diffs:
                bad += 1
                print(f"== seed {seed}: {len(diffs)} diffs")
                for d in diffs[:8]:
                    print("   ", d[:400])
    print(f"{COUNT['projects']} projects, {COUNT['commands']} commands, {bad} seeds with diffs")
