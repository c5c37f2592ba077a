"""segpipe's published tables equal the benchmark's baseline SQL's, on generated data.

What this checks: segpipe against another implementation, benchmarks/baseline.py —
the SQL a dbt user would write (one membership SELECT per segment, UNION ALL, joined
to every send). segpipe computes the same tables another way (encoded filters, one
pass over the leads, incremental days). Both run on the benchmark generator's `xs`
data and must agree row for row: counts exactly, floats to a relative 1e-9
(summation order differs).

What it does not check: the baseline is not independent of segpipe. It shares
segpipe's segment handling — the segments parsed and normalised by
segpipe.segments.load_segments_file, turned into SQL by segment_predicate — so a
mistake there would be in both and pass here. The independent checks, of
membership and of the figures against a plain-Python reading of the SPEC
(tests/reference.py), are tests/test_membership.py and tests/test_pipeline.py.
"""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from segpipe.segments import load_segments_file

REPO = Path(__file__).resolve().parents[1]
AS_OF, NEW_DAY = "2026-11-15", "2026-11-16"
DAILY_COLUMNS = ["segment_id", "day", "leads_sent", "opened", "replied", "bounced", "clicked", "converted",
                 "clicks_tracked", "conversions_tracked", "timed_replies", "response_micros_sum"]
PERFORMANCE_COUNTS = ["leads_sent", "opened", "replied", "bounced", "clicked", "converted", "clicks_tracked",
                      "conversions_tracked"]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


baseline = _module("baseline")
bench = _module("run")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xs_data")
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--scale", "xs", "--out", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory, data) -> Path:
    """A project on a copy of the data, built once and shared; no test changes it."""
    return build_project(tmp_path_factory.mktemp("xs_project"), data)


def build_project(root: Path, data: Path) -> Path:
    """A project reading a private copy of `data` in `root`, built with --as-of AS_OF."""
    shutil.copytree(data, root / "data")
    for folder in ("models", "macros"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "seeds").mkdir()
    shutil.copy(data / "segments.yml", root / "seeds" / "segments.yml")
    config = {"name": "bench_xs", "database": "out.duckdb", "vars": {"days": 30},
              "sources": {name: {"path": f"data/{path}"} for name, path in (
                  ("workspaces", "workspaces.parquet"), ("leads", "leads.parquet"),
                  ("campaigns", "campaigns.parquet"), ("campaign_leads", "campaign_leads/*.parquet"))}}
    (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    _run(root, "--as-of", AS_OF)
    return root


def _run(root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "segpipe", "run", "--project-dir", str(root), *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _published(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _straightforward(sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _assert_rows_equal(actual: list[tuple], expected: list[tuple], columns: list[str]) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows published, {len(expected)} by the straightforward SQL"
    for got, want in zip(actual, expected):
        for column, a, b in zip(columns, got, want):
            if a is None or b is None:
                assert a is None and b is None, f"{column} differs in {got} vs {want}"
            elif isinstance(a, float) or isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{column} differs in {got} vs {want}"
            else:
                assert a == b and type(a) is type(b), f"{column} differs in {got} vs {want}"


def _daily_against_baseline(root: Path, data_dir: Path) -> None:
    segments = load_segments_file(root / "seeds" / "segments.yml")
    order = "order by segment_id, day"
    expected = _straightforward(f"select * from ({baseline.baseline_sql(data_dir, segments)}) {order}")
    actual = _published(root, f"select {', '.join(DAILY_COLUMNS)} from segment_performance_daily {order}")
    assert len(expected) > 1000  # the xs data is not trivially small
    _assert_rows_equal(actual, expected, DAILY_COLUMNS)


def test_segment_performance_daily_equals_the_straightforward_sql(project):
    _daily_against_baseline(project, project / "data")


def test_segment_leads_equals_the_union_all_membership(project):
    segments = load_segments_file(project / "seeds" / "segments.yml")
    order = "order by segment_id, lead_id"
    expected = _straightforward(f"select * from ({baseline.membership_query(project / 'data', segments)}) {order}")
    actual = _published(project, f"select segment_id, lead_id, workspace_id from segment_leads {order}")
    assert len(expected) > 500
    assert len({row[0] for row in expected}) > len(segments) // 2  # most segments match someone
    assert actual == expected


def test_segment_performance_equals_the_window_of_the_straightforward_daily_table(project):
    segments = load_segments_file(project / "seeds" / "segments.yml")
    sums = ", ".join(f"sum({c}) as {c}" for c in (*PERFORMANCE_COUNTS, "timed_replies", "response_micros_sum"))
    expected = _straightforward(f"""
        with daily as ({baseline.baseline_sql(project / 'data', segments)}),
        w as (select segment_id, {sums} from daily
              where day between DATE '{AS_OF}' - 29 and DATE '{AS_OF}' group by segment_id)
        select s.segment_id, {', '.join(f"coalesce(w.{c}, 0)::bigint" for c in PERFORMANCE_COUNTS)},
               w.opened / nullif(w.leads_sent, 0), w.replied / nullif(w.leads_sent, 0),
               w.bounced / nullif(w.leads_sent, 0), w.clicked / nullif(w.clicks_tracked, 0),
               w.converted / nullif(w.conversions_tracked, 0), w.response_micros_sum / 3600e6 / nullif(w.timed_replies, 0)
        from (select unnest({[s.id for s in segments]}::bigint[]) as segment_id) as s
        left join w using (segment_id) order by s.segment_id""")
    rates = ["open_rate", "reply_rate", "bounce_rate", "click_rate", "conversion_rate", "avg_response_hours"]
    columns = ["segment_id", *PERFORMANCE_COUNTS, *rates]
    actual = _published(project, f"select {', '.join(columns)} from segment_performance order by segment_id")
    assert len(actual) == len(segments)
    assert sum(row[1] for row in expected) > 100  # sends in the window
    _assert_rows_equal(actual, expected, columns)


def test_incremental_run_after_a_new_day_equals_the_straightforward_sql(tmp_path, data):
    """Appends a day of sends (as benchmarks/run.py does) and reruns incrementally, on a
    project of its own: the shared one stays as built, whatever order the tests run in."""
    project = build_project(tmp_path, data)
    added = bench.append_day(project / "data" / "campaign_leads", NEW_DAY)
    assert added > 0
    output = _run(project, "--as-of", NEW_DAY)
    assert "incremental" in output  # the fast path ran
    _daily_against_baseline(project, project / "data")
    assert _published(project, f"select count(*) from segment_performance_daily where day = DATE '{NEW_DAY}'")[0][0] > 0


def test_tables_built_a_slice_at_a_time_equal_one_pass_over_all_sends(tmp_path, data):
    """segment_campaign_daily, the hourly tables and the set table are built a slice of
    months at a time (config `batches`; here ~5,000 sends a slice); they hold exactly the
    rows of one straightforward pass over all history: nothing lost or counted twice at a
    slice's edge."""
    project = build_project(tmp_path, data)
    output = _run(project, "--full-refresh", "--as-of", AS_OF, "--vars", "{sends_per_batch: 5000}")
    for model in ("segment_campaign_daily", "segment_performance_hourly", "segment_set_sends_daily",
                  "workspace_performance_hourly"):
        line, = [line for line in output.splitlines() if f" model  {model} " in line]
        assert int(re.search(r"in (\d+) slices", line).group(1)) >= 6, line
    _daily_against_baseline(project, data)  # the daily table sums the hourly one
    segments = load_segments_file(project / "seeds" / "segments.yml")
    data = project / "data"
    pairs = f"""with stg_leads as ({baseline.staging_leads_sql(data)}),
        segment_leads as ({baseline.membership_sql(segments)}),
        sends as (select cl.id as send_id, cl.lead_id, cl.campaign_id, cl.variant, cl.replied, c.workspace_id as campaign_workspace_id,
                         coalesce(cl.sent_at, c.sent_at) as sent_at
                  from read_parquet('{data}/campaign_leads/*.parquet') as cl
                  left join read_parquet('{data}/campaigns.parquet') as c on c.id = cl.campaign_id
                  where cl.sent),
        pairs as (select m.segment_id, m.workspace_id, s.* from sends as s join segment_leads as m using (lead_id)
                  where s.sent_at is not null
                    and (s.campaign_workspace_id is null or s.campaign_workspace_id = m.workspace_id))"""
    expected = _straightforward(f"""{pairs}
        select segment_id, campaign_id, variant, cast(sent_at as date) as day, count(*),
               count(*) filter (where replied), min(sent_at), max(sent_at)
        from pairs group by all order by all""")
    actual = _published(project, "select segment_id, campaign_id, variant, day, leads_sent, replied, "
                                 "first_sent_at, last_sent_at from segment_campaign_daily order by all")
    assert len(expected) > 1000
    assert actual == expected

    expected = _straightforward(f"""{pairs},
        sets as (select lead_id, any_value(workspace_id) as workspace_id, list(segment_id order by segment_id) as segment_ids
                 from segment_leads group by lead_id having count(*) > 1)
        select cast(sends.sent_at as date) as day, sets.segment_ids, count(*) as leads_sent
        from sends join sets using (lead_id)
        where sends.sent_at is not null
          and (sends.campaign_workspace_id is null or sends.campaign_workspace_id = sets.workspace_id)
        group by all order by day, leads_sent, segment_ids""")
    actual = _published(project, "select day, segment_ids, leads_sent from internal.segment_set_sends_daily "
                                 "join internal.segment_sets using (set_id) order by day, leads_sent, segment_ids")
    assert len(expected) > 300
    assert actual == expected

    # each send once, by hour and its lead's workspace, and whether one of its segments is
    # the workspace's own
    owners = ", ".join(f"({s.id}, {'NULL' if s.workspace_id is None else s.workspace_id})" for s in segments)
    expected = _straightforward(f"""{pairs},
        owners as (select * from (values {owners}) as t(segment_id, owner)),
        once as (select send_id, any_value(sent_at) as sent_at, any_value(workspace_id) as workspace_id,
                        any_value(replied) as replied, bool_or(owner is not null) as own
                 from pairs join owners using (segment_id) group by send_id)
        select date_trunc('hour', sent_at), workspace_id, own, count(*), count(*) filter (where replied)
        from once group by all order by all""")
    actual = _published(project, "select hour, workspace_id, in_workspace_segment, leads_sent, replied "
                                 "from workspace_performance_hourly order by all")
    assert len(expected) > 300 and {row[2] for row in expected} == {True, False}
    assert actual == expected
