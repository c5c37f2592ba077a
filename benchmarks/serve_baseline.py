"""The straightforward alternative to `segpipe serve` a user would write (benchmarks/serve.py).

A minimal FastAPI endpoint with one read-only DuckDB connection opened at
start, running the same window query `segpipe top` runs (ranked in SQL) and
returning the seed's JSON. Run: `SEGPIPE_BASELINE_DB=FILE uvicorn
benchmarks.serve_baseline:app --port P`.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb
from fastapi import FastAPI

con = duckdb.connect(os.environ["SEGPIPE_BASELINE_DB"], read_only=True)
app = FastAPI()

SQL = """
with window_totals as (
    select segment_id, sum(leads_sent) as leads_sent, sum(opened) as opened,
           sum(replied) as replied, sum(bounced) as bounced
    from segment_performance_daily
    where day between $as_of::DATE - ($days - 1) and $as_of::DATE
    group by segment_id
)
select s.segment_id, s.segment_name, w.leads_sent, w.opened, w.replied, w.bounced,
       round(w.opened / w.leads_sent, 4), round(w.replied / w.leads_sent, 4), round(w.bounced / w.leads_sent, 4)
from segments as s join window_totals as w using (segment_id)
where w.leads_sent >= 1
order by w.replied / w.leads_sent desc, w.leads_sent desc, s.segment_id
limit $limit
"""
KEYS = ("segment_id", "segment_name", "leads_sent", "opened", "replied", "bounced",
        "open_rate", "reply_rate", "bounce_rate")


@app.get("/api/dashboard/top-segments")
def top_segments(as_of: str, days: int = 30, limit: int = 5):
    rows = con.execute(SQL, {"as_of": as_of, "days": days, "limit": limit}).fetchall()
    start = dt.date.fromisoformat(as_of) - dt.timedelta(days=days - 1)
    return {"time_range_from": f"{start}T00:00:00Z", "time_range_to": f"{as_of}T23:59:59Z", "metric": "reply_rate",
            "segments": [dict(zip(KEYS, row)) for row in rows]}
