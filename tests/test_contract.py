"""SPEC §1, the contract of the published file: a run whose built tables lack what
segpipe's commands read stops before publishing, naming the relation and the column;
the drill-downs read published tables only."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import duckdb
import pytest

from segpipe import contract
from tests import reference
from tests.conftest import make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS

RUN = ("--as-of", AS_OF.isoformat())
WINDOW = ("--as-of", AS_OF.isoformat(), "--days", "365")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 0, done.stderr
    return root


DAILY_WITHOUT_REPLIED = textwrap.dedent("""\
    -- our daily table, which forgot `replied`
    select segment_id, day, sum(leads_sent)::bigint as leads_sent, sum(opened)::bigint as opened,
           sum(bounced)::bigint as bounced, sum(clicked)::bigint as clicked, sum(converted)::bigint as converted,
           sum(clicks_tracked)::bigint as clicks_tracked, sum(conversions_tracked)::bigint as conversions_tracked,
           sum(timed_replies)::bigint as timed_replies, sum(response_micros_sum)::bigint as response_micros_sum
    from {{ ref('segment_campaign_daily') }}
    group by segment_id, day
    """)


def assert_replacing_publishes_nothing(root: Path, model: str, sql: str, stderr: str) -> None:
    """Replacing `model` with `sql` fails the run with `stderr`, the published file unchanged."""
    db = root / "out.duckdb"
    before = sha256(db)
    (root / "models" / f"{model}.sql").write_text(sql)
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert (done.returncode, done.stderr) == (1, stderr)
    assert sha256(db) == before
    assert sorted(p.name for p in db.parent.glob("out.duckdb.*") if not p.name.endswith(".lock")) == []


def test_a_replaced_model_without_a_read_column_stops_the_run_and_publishes_nothing(published):
    assert_replacing_publishes_nothing(
        published, "segment_performance_daily", DAILY_WITHOUT_REPLIED,
        "Error: segment_performance_daily (built by models/segment_performance_daily.sql) has no column 'replied', "
        "which segpipe's commands read — keep the built-in model's columns when replacing it; nothing published\n")


def test_a_fresh_project_with_the_broken_model_publishes_nothing(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    (root / "models" / "segment_performance_daily.sql").write_text(DAILY_WITHOUT_REPLIED)
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 1 and "segment_performance_daily" in done.stderr and "'replied'" in done.stderr
    assert not (root / "out.duckdb").exists()


def test_a_published_relation_moved_to_another_schema_is_named(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    (root / "models" / "leads.sql").write_text(
        "{{ config(schema='private') }}\nselect id as lead_id from {{ source('leads') }}\n")
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: leads (built by models/leads.sql) is missing from main, ")
    assert not (root / "out.duckdb").exists()


#: SPEC §6's table, written out here: the columns each published table has at least
SPEC_6_COLUMNS = {
    "segments": "segment_id segment_name workspace_id description filters",
    "segment_leads": "segment_id lead_id workspace_id",
    "segment_performance_daily": "segment_id day leads_sent opened replied bounced clicked converted clicks_tracked "
                                 "conversions_tracked",
    "segment_performance": "segment_id segment_name workspace_id leads_sent opened replied bounced clicked converted "
                           "clicks_tracked conversions_tracked open_rate reply_rate bounce_rate click_rate "
                           "conversion_rate avg_response_hours",
}


def test_the_contract_requires_every_column_of_spec_6():
    required = {relation.name: set(relation.columns) for relation in contract.RELATIONS if relation.schema == "main"}
    assert {name: sorted(set(columns.split()) - required[name]) for name, columns in SPEC_6_COLUMNS.items()} == \
        dict.fromkeys(SPEC_6_COLUMNS, [])


def test_a_replaced_segment_performance_without_the_tracked_counts_publishes_nothing(published):
    """SPEC §6 lists clicks_tracked and conversions_tracked among segment_performance's columns."""
    builtin = (Path(contract.__file__).parent / "builtin" / "models" / "segment_performance.sql").read_text()
    dropped = ("cast(coalesce(w.clicks_tracked", "cast(coalesce(w.conversions_tracked")
    trimmed = [line for line in builtin.splitlines() if not line.strip().startswith(dropped)]
    assert len(trimmed) == len(builtin.splitlines()) - 2
    assert_replacing_publishes_nothing(
        published, "segment_performance", "\n".join(trimmed),
        "Error: segment_performance (built by models/segment_performance.sql) has no column 'clicks_tracked' "
        "(and 1 more), which segpipe's commands read — keep the built-in model's columns when replacing it; "
        "nothing published\n")


def test_every_declared_relation_is_published_with_its_columns(published):
    with duckdb.connect(str(published / "out.duckdb"), read_only=True) as con:
        assert contract.missing(con) == []
        comments = dict(con.execute("select table_name, comment from duckdb_tables() where schema_name = 'main'").fetchall())
    assert all(comments[r.name] for r in contract.RELATIONS if r.schema == "main")  # documented for BI users


def json_of(*args) -> dict:
    done = run_segpipe(*args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_drilldowns_work_with_the_source_files_gone(published):
    """campaigns and leads read published tables: removing every source file changes nothing,
    and a segment's campaigns add up to its figures in `top`."""
    before = {args: json_of(*args) for args in (
        ("campaigns", "1", "--project-dir", published, *WINDOW),
        ("leads", "1", "--project-dir", published, "--limit", "100"),
        ("top", "--project-dir", published, *WINDOW, "--min-sent", "0", "--limit", "100"))}
    shutil.rmtree(published / "seeds")
    after = {args: json_of(*args) for args in before}
    assert after == before
    campaigns, leads, top = before.values()
    assert campaigns["campaigns"] and leads["leads"]
    shown = next(s for s in top["segments"] if s["segment_id"] == 1)
    for count in ("leads_sent", "opened", "replied", "bounced"):
        assert sum(c[count] for c in campaigns["campaigns"]) == shown[count]
    members = reference.membership(SEGMENTS, LEADS)
    assert {lead["lead_id"] for lead in leads["leads"]} == {lead for seg, lead in members if seg == 1}


def test_a_replaced_model_with_a_count_as_text_stops_the_run_and_publishes_nothing(published):
    """The column is there, but as text: published, it would break every command that sums it."""
    db = published / "out.duckdb"
    before = sha256(db)
    daily = DAILY_WITHOUT_REPLIED.replace("sum(opened)::bigint as opened,",
                                          "sum(opened)::bigint as opened, sum(replied)::varchar as replied,")
    (published / "models" / "segment_performance_daily.sql").write_text(daily)
    done = run_segpipe("run", "--project-dir", published, *RUN)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: segment_performance_daily (built by models/segment_performance_daily.sql) "
                                  "has column 'replied' as VARCHAR, not a number, ")
    assert sha256(db) == before
    assert run_segpipe("top", "--project-dir", published, *RUN).returncode == 0


def test_an_internal_relation_built_into_main_says_which_schema_it_needs(tmp_path):
    """A replacement of an internal model that forgot its config(schema=…): the message says where it went."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    (root / "models" / "segment_sets.sql").write_text(
        "select 1 as set_id, [1, 2]::usmallint[] as segment_ids\n")
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: segment_sets (built by models/segment_sets.sql) is missing from internal, ")
    assert "built into schema main" in done.stderr and "config(schema='internal')" in done.stderr
    assert not (root / "out.duckdb").exists()
