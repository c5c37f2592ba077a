"""End to end: the published tables for a hand-made dataset equal a plain-Python reading of the SPEC."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests import reference
from tests.conftest import make_project
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS

PUBLISHED = ("segments", "segment_leads", "leads", "segment_performance_daily", "segment_performance_hourly",
             "workspace_performance_hourly", "segment_campaign_daily", "segment_performance")


def build(tmp_path, cli, *extra, **project_kwargs):
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS,
                        segments=SEGMENTS, **project_kwargs)
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), *extra)
    assert result.exit_code == 0, result.stdout + result.stderr
    return root, duckdb.connect(str(root / "out.duckdb"), read_only=True)


def performance_rows(con) -> dict[int, dict]:
    cur = con.execute("select * from segment_performance")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}


def assert_performance(actual: dict[int, dict], expected: dict[int, dict]) -> None:
    assert set(actual) == set(expected)
    for seg_id, want in expected.items():
        got = actual[seg_id]
        for key, value in want.items():
            if value is None or isinstance(value, int):
                assert got[key] == value, (seg_id, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-12), (seg_id, key)


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_segment_performance_matches_reference(tmp_path, cli, attribution):
    _, con = build(tmp_path, cli, "--vars", json.dumps({"attribution": attribution, "days": 31}))
    expected = reference.performance(SEGMENTS, LEADS, CAMPAIGNS, SENDS, as_of=AS_OF, days=31,
                                     attribution=attribution)
    assert_performance(performance_rows(con), expected)
    # sanity: the dataset exercises what it claims to (not a vacuous comparison)
    assert expected[1]["leads_sent"] > 0 and expected[2]["leads_sent"] > 0


def test_segment_leads_matches_reference(tmp_path, cli):
    _, con = build(tmp_path, cli)
    actual = set(con.execute("select segment_id, lead_id from segment_leads").fetchall())
    assert actual == reference.membership(SEGMENTS, LEADS)
    workspaces = dict(con.execute("select lead_id, workspace_id from segment_leads").fetchall())
    assert workspaces == {l["id"]: l["workspace_id"] for l in LEADS if l["id"] in workspaces}


def test_window_days_var_changes_published_window(tmp_path, cli):
    _, con = build(tmp_path, cli, "--vars", "{days: 7}")
    expected = reference.performance(SEGMENTS, LEADS, CAMPAIGNS, SENDS, as_of=AS_OF, days=7)
    assert_performance(performance_rows(con), expected)
    start, end = con.execute("select distinct window_start, window_end from segment_performance").fetchone()
    assert (start.isoformat(), end.isoformat()) == ("2025-01-25", "2025-01-31")


WINDOW_COUNTS = ("leads_sent", "opened", "replied", "bounced", "clicked", "converted", "clicks_tracked",
                 "conversions_tracked")
DAILY_COUNTS = (*WINDOW_COUNTS, "timed_replies", "response_micros_sum")


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_daily_table_sums_to_all_history(tmp_path, cli, attribution):
    """Every count column of every (segment, day) row equals the plain-Python reading, and
    summed over all history equals the reference's figures for a window holding everything."""
    _, con = build(tmp_path, cli, "--vars", json.dumps({"attribution": attribution}))
    rows = con.execute(f"select segment_id, day, {', '.join(DAILY_COUNTS)} from segment_performance_daily").fetchall()
    actual = {(seg_id, day): dict(zip(DAILY_COUNTS, counts)) for seg_id, day, *counts in rows}
    expected = reference.daily(SEGMENTS, LEADS, CAMPAIGNS, SENDS, attribution=attribution)
    assert actual == expected
    # the dataset exercises every column (not a comparison of zeros)
    assert all(sum(row[c] for row in expected.values()) > 0 for c in DAILY_COUNTS)
    everything = reference.performance(SEGMENTS, LEADS, CAMPAIGNS, SENDS, as_of=AS_OF.replace(year=2030),
                                       days=365 * 10, attribution=attribution)
    sums = con.execute(f"select segment_id, {', '.join(f'sum({c})::bigint' for c in WINDOW_COUNTS)} "
                       "from segment_performance_daily group by 1").fetchall()
    assert {seg_id: tuple(counts) for seg_id, *counts in sums} == {
        seg_id: tuple(v[c] for c in WINDOW_COUNTS) for seg_id, v in everything.items() if v["leads_sent"]}


TRACKED_COUNTS = DAILY_COUNTS  # the tracked counts are among them


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_hourly_and_campaign_tables_match_reference(tmp_path, cli, attribution):
    """segment_performance_hourly and segment_campaign_daily: every column of every row equals
    the plain-Python grouping of the same sends; the daily table is the hourly one summed."""
    _, con = build(tmp_path, cli, "--vars", json.dumps({"attribution": attribution}))
    rows = con.execute(f"select segment_id, hour, {', '.join(TRACKED_COUNTS)} from segment_performance_hourly").fetchall()
    expected = reference.hourly(SEGMENTS, LEADS, CAMPAIGNS, SENDS, attribution=attribution)
    assert {(seg_id, hour): dict(zip(TRACKED_COUNTS, counts)) for seg_id, hour, *counts in rows} == expected
    assert any(row["clicks_tracked"] < row["leads_sent"] for row in expected.values())  # untracked sends exist
    assert {hour.hour for _, hour in expected} > {0}  # hours, not days

    columns = (*TRACKED_COUNTS, "first_sent_at", "last_sent_at", "campaign_name")
    rows = con.execute(f"select segment_id, campaign_id, campaign_workspace_id, variant, day, {', '.join(columns)} "
                       "from segment_campaign_daily").fetchall()
    expected = reference.campaign_daily(SEGMENTS, LEADS, CAMPAIGNS, SENDS, attribution=attribution)
    assert {tuple(r[:5]): dict(zip(columns, r[5:])) for r in rows} == expected
    assert {variant for *_, variant, _ in expected} == {"A", "B", None}

    daily = con.execute(f"select segment_id, day, {', '.join(TRACKED_COUNTS)} from segment_performance_daily").fetchall()
    summed = {}
    for (seg_id, hour), row in reference.hourly(SEGMENTS, LEADS, CAMPAIGNS, SENDS, attribution=attribution).items():
        into = summed.setdefault((seg_id, hour.date()), dict.fromkeys(TRACKED_COUNTS, 0))
        for column in TRACKED_COUNTS:
            into[column] += row[column]
    assert {(seg_id, day): dict(zip(TRACKED_COUNTS, counts)) for seg_id, day, *counts in daily} == summed


def test_counts_are_integers_and_never_null(tmp_path, cli):
    _, con = build(tmp_path, cli)
    for table in ("segment_performance", "segment_performance_daily", "segment_performance_hourly",
                  "segment_campaign_daily"):
        types = dict(con.execute("select column_name, data_type from duckdb_columns() "
                                 "where table_name = ?", [table]).fetchall())
        for column in ("segment_id", *WINDOW_COUNTS):
            assert types[column] == "BIGINT", (table, column)  # not HUGEINT: slow to sum again
            assert con.execute(f"select count(*) from {table} where {column} is null").fetchone()[0] == 0
    nobody = performance_rows(con)[7]
    assert nobody["leads_sent"] == 0 and nobody["reply_rate"] is None


def test_published_schema_layout_and_comments(tmp_path, cli):
    _, con = build(tmp_path, cli)
    main_tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    assert main_tables == set(PUBLISHED)
    for table in PUBLISHED:
        comment = con.execute("select comment from duckdb_tables() where table_name = ?", [table]).fetchone()[0]
        assert comment, table
    column_comment = con.execute("select comment from duckdb_columns() where table_name = 'segment_performance' "
                                 "and column_name = 'reply_rate'").fetchone()[0]
    assert column_comment.startswith("replied / leads_sent")
    staged = {r[0] for r in con.execute("select table_schema from information_schema.tables").fetchall()}
    assert {"staging", "internal", "src"} <= staged


def test_injection_values_are_kept_and_matched_literally(tmp_path, cli):
    root, con = build(tmp_path, cli)
    name, filters = con.execute("select segment_name, filters from segments where segment_id = 5").fetchone()
    assert name == "Quote ' \\ -- ; {{ 7*7 }} segment"
    assert json.loads(filters) == {"sources": ["o'brien; --"], "tags": ["{{ 7*7 }}"]}
    assert con.execute("select lead_id from segment_leads where segment_id = 5").fetchall() == [(9,)]
    compiled = (root / "target/compiled/builtin/models/internal/lead_segments.sql").read_text()
    assert "'o''brien; --'" in compiled and "'{{ 7*7 }}'" in compiled and "49" not in compiled


def test_metadata_fallback_without_campaign_sources(tmp_path, cli):
    leads = [
        {**LEADS[0], "metadata": json.dumps({"sent_at": "2025-01-05T10:00:00Z", "opened": True, "replied": True,
                                             "bounced": False, "replied_at": "2025-01-05T13:00:00Z"})},
        {**LEADS[1], "metadata": json.dumps({"sent_at": "2025-01-06 10:00:00", "opened": "true", "replied": False,
                                             "bounced": False, "clicked": True})},
        {**LEADS[4], "metadata": json.dumps({"utm": "no send"})},
        {**LEADS[5], "metadata": json.dumps({"sent_at": "2024-06-01 10:00:00", "opened": True})},
    ]
    root = make_project(tmp_path / "fallback", leads=leads, segments=SEGMENTS, with_campaigns=False)
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stdout + result.stderr
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    perf = performance_rows(con)
    # segment 3 (Acme everyone) holds leads 1 and 2: two sends in the window
    assert (perf[3]["leads_sent"], perf[3]["opened"], perf[3]["replied"], perf[3]["clicked"]) == (2, 2, 1, 1)
    # only lead 2's metadata says whether it was clicked: one send tracks clicks, none conversions
    assert (perf[3]["clicks_tracked"], perf[3]["click_rate"]) == (1, 1.0)
    assert (perf[3]["conversions_tracked"], perf[3]["conversion_rate"]) == (0, None)
    assert perf[3]["avg_response_hours"] == pytest.approx(3.0)
    assert perf[2]["leads_sent"] == 0  # lead 6's send is outside the window; lead 5 has no sent_at
