"""The straightforward SQL a dbt user would write, as the benchmark's yardstick.

    python benchmarks/baseline.py DATA_DIR [--segments FILE] [--db PATH] [--threads N]

Reads the generated Parquet files directly and builds the same per-(segment, day)
table as models/segment_performance_daily.sql (matching attribution): one
membership SELECT per segment over the leads, glued with UNION ALL, then that
membership joined to every send and aggregated. Nothing clever: no integer
encoding, no per-lead segment lists, one pass over the leads per segment.

As a script it materializes the result (CREATE TABLE, as dbt would) into a
fresh DuckDB file (a temporary one unless --db) and prints rows and seconds.
tests/test_benchmark_equality.py checks segpipe's published tables against it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from segpipe.segments import load_segments_file, segment_predicate  # noqa: E402
from segpipe.sql import sql_literal  # noqa: E402


def _parquet(data_dir, pattern: str) -> str:
    return f"read_parquet({sql_literal(str(Path(data_dir).resolve() / pattern))})"


def staging_leads_sql(data_dir) -> str:
    """The leads with the match keys of models/staging/stg_leads.sql (trimmed, lower-cased)."""
    return f"""select
        id                                                   as lead_id,
        workspace_id,
        score,
        nullif(lower(trim(source)), '')                      as source_key,
        nullif(lower(trim(country)), '')                     as country_key,
        nullif(lower(trim(role)), '')                        as role_key,
        nullif(lower(trim(company_size)), '')                as company_size_key,
        nullif(lower(trim(industry)), '')                    as industry_key,
        list_filter(list_transform(coalesce(tags, []), t -> lower(trim(t))), t -> t <> '') as tag_keys,
        coalesce(trim(email), '') <> ''                      as has_email
    from {_parquet(data_dir, 'leads.parquet')}"""


def membership_sql(segments) -> str:
    """One SELECT per segment over `stg_leads`, UNION ALL: (segment_id, lead_id, workspace_id)."""
    if not segments:
        return "select null::bigint as segment_id, null::bigint as lead_id, null::bigint as workspace_id where false"
    return "\n    union all\n    ".join(
        f"select {segment.id}::bigint as segment_id, lead_id, workspace_id from stg_leads where {segment_predicate(segment)}"
        for segment in segments)


def sends_sql(data_dir) -> str:
    """Sends (campaign_leads with sent = true) with send time coalesce(cl.sent_at, campaigns.sent_at)."""
    return f"""select
        cl.lead_id,
        coalesce(cl.sent_at, c.sent_at)  as sent_at,
        coalesce(cl.opened, false)       as opened,
        coalesce(cl.replied, false)      as replied,
        coalesce(cl.bounced, false)      as bounced,
        cl.clicked,                      -- NULL: not tracked
        cl.converted,
        cl.replied_at,
        c.workspace_id                   as campaign_workspace_id
    from {_parquet(data_dir, 'campaign_leads/*.parquet')} as cl
    left join {_parquet(data_dir, 'campaigns.parquet')} as c on c.id = cl.campaign_id
    where cl.sent"""


def membership_query(data_dir, segments) -> str:
    """segment_leads, the straightforward way."""
    return f"with stg_leads as (\n    {staging_leads_sql(data_dir)}\n)\n{membership_sql(segments)}"


def baseline_sql(data_dir, segments) -> str:
    """segment_performance_daily, the straightforward way: membership joined to every send."""
    return f"""with stg_leads as (
    {staging_leads_sql(data_dir)}
),
segment_leads as (
    {membership_sql(segments)}
),
sends as (
    {sends_sql(data_dir)}
)
select
    m.segment_id,
    cast(s.sent_at as date)                                          as day,
    count(*)                                                         as leads_sent,
    count(*) filter (where s.opened)                                 as opened,
    count(*) filter (where s.replied)                                as replied,
    count(*) filter (where s.bounced)                                as bounced,
    count(*) filter (where s.clicked)                                as clicked,
    count(*) filter (where s.converted)                              as converted,
    count(s.clicked)                                                 as clicks_tracked,
    count(s.converted)                                               as conversions_tracked,
    count(*) filter (where s.replied and s.replied_at is not null)   as timed_replies,
    cast(coalesce(sum(datediff('microsecond', s.sent_at, s.replied_at))
        filter (where s.replied and s.replied_at is not null), 0) as bigint) as response_micros_sum
from sends as s
join segment_leads as m on m.lead_id = s.lead_id
where s.sent_at is not null
  and (s.campaign_workspace_id is null or s.campaign_workspace_id = m.workspace_id)  -- SPEC §4 tenancy
group by m.segment_id, cast(s.sent_at as date)"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path, help="directory written by benchmarks/generate.py")
    ap.add_argument("--segments", type=Path, help="segments file (default DATA_DIR/segments.yml)")
    ap.add_argument("--db", help="DuckDB file to create the table in (default: a temporary file)")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, all cores)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 3GB (default: DuckDB's, 80%% of RAM)")
    ap.add_argument("--print-sql", action="store_true", help="print the SQL and exit")
    args = ap.parse_args()
    segments = load_segments_file(args.segments or args.data_dir / "segments.yml")
    sql = baseline_sql(args.data_dir, segments)
    if args.print_sql:
        print(sql)
        return

    import duckdb

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="segpipe-baseline-") as tmp:
        db = args.db or os.path.join(tmp, "baseline.duckdb")
        con = duckdb.connect(db)
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        con.execute("SET enable_progress_bar = false")
        if args.memory_limit:
            con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute(f"CREATE OR REPLACE TABLE segment_performance_daily AS {sql}")
        rows = con.execute("select count(*) from segment_performance_daily").fetchone()[0]
        con.close()
    print(f"baseline: {len(segments)} segments, {rows} (segment, day) rows in {time.perf_counter() - t0:.2f}s")


if __name__ == "__main__":
    main()
