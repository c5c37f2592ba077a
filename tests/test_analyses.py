"""`segpipe compare`, `variants` and `export` as real processes on a small project; every
figure recomputed here from the raw rows (plain Python) and scipy/statsmodels."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import os
import re
import signal
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import openpyxl
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from segpipe.analyses.rates import comparison, points, rate_fields, with_interval
from segpipe.output import plain
from tests.conftest import make_project, run_segpipe

AS_OF = "2025-01-31"
WINDOW = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
SEGMENTS = [
    {"id": 1, "name": "US leads", "workspace_id": 1, "filters": {"countries": ["US"]}},
    {"id": 2, "name": "SaaS leads", "workspace_id": 1, "filters": {"industries": ["SaaS"]}},
    {"id": 3, "name": "DE leads; 'quoted' -- name", "workspace_id": 1, "filters": {"countries": ["DE"]}},
    {"id": 4, "name": "Nobody", "workspace_id": 2, "filters": {"countries": ["ZZ"]}},
]
MEMBERS = {1: lambda lead: lead["country"] == "US", 2: lambda lead: lead["industry"] == "SaaS",
           3: lambda lead: lead["country"] == "DE", 4: lambda lead: False}


def dataset():
    rng = random.Random(12)
    leads, sends = [], []
    for i in range(1, 601):
        lead = {"id": i, "workspace_id": 1, "email": f"l{i}@x.io", "country": ["US", "DE", "FR"][i % 3],
                "industry": ["SaaS", "Fintech"][i % 2], "score": i % 101, "created_at": "2024-01-01 00:00:00",
                "tags": "vip;webinar" if i % 7 == 0 else ""}
        leads.append(lead)
        variant = ["A", "B", None][(i // 3) % 3]
        base = {"US": 0.25, "DE": 0.1, "FR": 0.15}[lead["country"]] + (0.12 if variant == "B" else 0)
        day = dt.date(2024, 12, 25) + dt.timedelta(days=i % 40)  # some before the window
        sends.append({"id": 2 * i, "campaign_id": 1, "lead_id": i, "sent": True, "opened": True,
                      "replied": rng.random() < base, "bounced": rng.random() < 0.03,
                      "sent_at": f"{day} 10:00:00", "variant": variant})
        if i % 2 == 0:
            sends.append({"id": 2 * i + 1, "campaign_id": 2, "lead_id": i, "sent": True, "opened": False,
                          "replied": rng.random() < 0.2, "bounced": False, "sent_at": "2025-01-15 09:00:00",
                          "variant": "A" if i % 20 == 0 else None})
    # another workspace's campaign sent to US SaaS leads: SPEC §4 counts it for no segment,
    # so it is neither in a segment's figures nor among the sends two segments share
    sends += [{"id": 5000 + i, "campaign_id": 3, "lead_id": i, "sent": True, "opened": True, "replied": True,
               "bounced": False, "sent_at": "2025-01-20 10:00:00", "variant": None} for i in (6, 12, 18)]
    campaigns = [{"id": 1, "workspace_id": 1, "name": "Spring", "sent_at": "2024-12-25 09:00:00"},
                 {"id": 2, "workspace_id": 1, "name": "Autumn", "sent_at": "2025-01-15 09:00:00"},
                 {"id": 3, "workspace_id": 2, "name": "Other workspace", "sent_at": "2025-01-20 09:00:00"}]
    return leads, campaigns, sends


LEADS, CAMPAIGNS, SENDS = dataset()
LEAD_BY_ID = {lead["id"]: lead for lead in LEADS}
CAMPAIGN_WORKSPACE = {campaign["id"]: campaign["workspace_id"] for campaign in CAMPAIGNS}


def in_window(send) -> bool:
    return WINDOW[0] <= dt.date.fromisoformat(send["sent_at"][:10]) <= WINDOW[1]


def segment_sends(segment_id):
    return [s for s in SENDS if in_window(s) and MEMBERS[segment_id](LEAD_BY_ID[s["lead_id"]])
            and CAMPAIGN_WORKSPACE[s["campaign_id"]] == LEAD_BY_ID[s["lead_id"]]["workspace_id"]]


def rounded(value):
    return None if value is None else float(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def expected_test(xa, na, xb, nb):
    """(p-value, test) chosen by the expected counts, from statsmodels or scipy."""
    pooled = (xa + xb) / (na + nb)
    if min(na * pooled, na * (1 - pooled), nb * pooled, nb * (1 - pooled)) >= 5:
        return proportions_ztest([xa, xb], [na, nb])[1], "z"
    return fisher_exact([[xa, na - xa], [xb, nb - xb]]).pvalue, "fisher"


def check_side(side, x, n, count_key="replied", metric="reply_rate"):
    low, high = proportion_confint(x, n, method="wilson")
    assert (side["leads_sent"], side[count_key]) == (n, x)
    assert side[metric] == rounded(x / n)
    assert (side[f"{metric}_low"], side[f"{metric}_high"]) == (rounded(low), rounded(high))


def check_comparison(result, xa, na, xb, nb, p_key="p_value"):
    low, high = confint_proportions_2indep(xa, na, xb, nb, method="newcomb", compare="diff")
    assert result["difference"] == rounded(xa / na - xb / nb)
    assert result["difference_low"] == rounded(low)
    assert result["difference_high"] == rounded(high)
    p_value, test = expected_test(xa, na, xb, nb)
    assert result["test"] == test
    assert result["p_value"] == pytest.approx(p_value, rel=1e-5)
    return p_value


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("analyses"), leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS,
                        segments=SEGMENTS, workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def segpipe(root, *args, code=0):
    result = run_segpipe(*args, "--project-dir", root)
    assert result.returncode == code, result.stderr
    return result


def window_args(*args):
    return ("--as-of", AS_OF, "--days", "31", *args)


# --- compare ------------------------------------------------------------------------------

@pytest.mark.parametrize("metric, count", [("reply_rate", "replied"), ("bounce_rate", "bounced")])
def test_compare_matches_scipy_and_statsmodels(project, metric, count):
    result = json.loads(segpipe(project, "compare", "1", "SaaS leads", *window_args("--metric", metric, "--format", "json")).stdout)
    a, b = segment_sends(1), segment_sends(2)
    xa, xb = sum(s[count] for s in a), sum(s[count] for s in b)
    assert list(result)[:3] == ["metric", "time_range_from", "time_range_to"]
    assert result["a"]["segment_name"] == "US leads" and result["b"]["segment_id"] == 2
    check_side(result["a"], xa, len(a), count, metric)
    check_side(result["b"], xb, len(b), count, metric)
    p_value = check_comparison(result, xa, len(a), xb, len(b))
    assert result["significant"] is bool(p_value < 0.05)
    # US leads that are SaaS leads too: their sends count for both segments
    assert result["shared_sends"] == len([s for s in a if MEMBERS[2](LEAD_BY_ID[s["lead_id"]])]) > 0


def test_compare_without_overlap_says_nothing_about_it(project):
    result = json.loads(segpipe(project, "compare", "1", "3", *window_args("--format", "json")).stdout)
    assert result["shared_sends"] == 0
    table = segpipe(project, "compare", "1", "3", *window_args()).stdout
    assert "overlap" not in table


def test_compare_table_says_in_words_what_the_test_found(project):
    result = json.loads(segpipe(project, "compare", "1", "2", *window_args("--format", "json")).stdout)
    table = segpipe(project, "compare", "1", "2", *window_args()).stdout
    assert ("NOT significant" in table) is (not result["significant"])
    assert f"The samples overlap: {result['shared_sends']} sends count for both segments" in table
    assert "approximate" in table
    low, high = proportion_confint(result["a"]["replied"], result["a"]["leads_sent"], method="wilson")
    assert f"({low * 100:.1f}–{high * 100:.1f})" in table


def test_a_table_rounds_the_exact_rate_once():
    """12.646 % is 0.1265 in JSON; a table shows 12.6 %, as `top` does, not 12.7 (0.1265 rounded again)."""
    fields = rate_fields("reply_rate", {"leads_sent": 100000, "replied": 12646})
    assert fields["reply_rate"] == 0.1265
    low, high = proportion_confint(12646, 100000, method="wilson")

    def tenth(value):
        return Decimal(value * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    assert with_interval(fields, "reply_rate") == f"12.6 % ({tenth(low)}–{tenth(high)})"
    difference = comparison((12646, 100000), (0, 100000))
    assert difference["difference"] == 0.1265 and points(difference["difference"]) == "+12.6"


def test_compare_small_samples_use_fisher(project):
    # one day: a handful of sends per segment, so an expected count is below 5
    result = json.loads(segpipe(project, "compare", "1", "3", "--as-of", "2025-01-05", "--days", "1",
                                "--format", "json").stdout)
    day = [s for s in SENDS if s["sent_at"].startswith("2025-01-05")]
    a = [s for s in day if MEMBERS[1](LEAD_BY_ID[s["lead_id"]])]
    b = [s for s in day if MEMBERS[3](LEAD_BY_ID[s["lead_id"]])]
    check_comparison(result, sum(s["replied"] for s in a), len(a), sum(s["replied"] for s in b), len(b))
    assert result["test"] == "fisher"


def test_compare_csv_is_one_flat_row(project):
    rows = list(csv.DictReader(io.StringIO(segpipe(project, "compare", "1", "2", *window_args("--format", "csv")).stdout)))
    result = json.loads(segpipe(project, "compare", "1", "2", *window_args("--format", "json")).stdout)
    assert len(rows) == 1
    assert rows[0]["a_segment_id"] == "1" and rows[0]["b_reply_rate"] == str(result["b"]["reply_rate"])
    assert rows[0]["significant"] == str(result["significant"]).lower()


@pytest.mark.parametrize("args, message", [
    (("1", "1"), "compare needs two different segments"),
    (("1", "nope"), "no segment with id or name 'nope'"),
    (("1", "2", "--metric", "reply"), "--metric must be one of"),
    (("1", "2", "--workspace-id", "2"), "belongs to workspace 1, not to --workspace-id 2"),
    (("1", "2", "--format", "parquet"), "--format parquet writes a file: add --output FILE"),
])
def test_compare_bad_input_is_one_line(project, args, message):
    result = segpipe(project, "compare", *args, "--as-of", AS_OF, code=2)
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_segment_name_is_data(project):
    result = json.loads(segpipe(project, "compare", "DE leads; 'quoted' -- name", "1",
                                *window_args("--format", "json")).stdout)
    assert result["a"]["segment_id"] == 3


# --- variants ------------------------------------------------------------------------------

def expected_variants(segment_id, campaign=None):
    """{campaign_id: {variant: (sends, replies)}} from the raw rows."""
    groups = {}
    for s in segment_sends(segment_id):
        if campaign is None or s["campaign_id"] == campaign:
            counts = groups.setdefault(s["campaign_id"], {}).setdefault(s["variant"] or "(none)", [0, 0])
            counts[0] += 1
            counts[1] += s["replied"]
    return groups


@pytest.mark.parametrize("segment, campaign", [("1", None), ("2", None), ("SaaS leads", 2)])
def test_variants_against_the_control_with_bh(project, segment, campaign):
    args = ("--campaign", str(campaign)) if campaign else ()
    result = json.loads(segpipe(project, "variants", segment, *window_args("--format", "json", *args)).stdout)
    seg_id = 1 if segment == "1" else 2
    groups = expected_variants(seg_id, campaign)
    assert result["segment_id"] == seg_id
    assert {c["campaign_id"] for c in result["campaigns"]} == set(groups)
    raw, shown = [], []
    for campaign_result in result["campaigns"]:
        counts = groups[campaign_result["campaign_id"]]
        control = min(counts, key=lambda v: (-counts[v][0], v))
        assert campaign_result["control"] == control
        assert campaign_result["campaign_name"] == {1: "Spring", 2: "Autumn"}[campaign_result["campaign_id"]]
        assert {v["variant"] for v in campaign_result["variants"]} == set(counts)
        n_c, x_c = counts[control]
        for v in campaign_result["variants"]:
            n, x = counts[v["variant"]]
            check_side(v, x, n)
            assert v["control"] is (v["variant"] == control)
            if v["control"]:
                assert v["p_value"] is None and v["p_adjusted"] is None and v["difference"] is None
            else:
                raw.append(check_comparison(v, x, n, x_c, n_c))
                shown.append(v)
    adjusted = multipletests(raw, method="fdr_bh")[1] if raw else []
    for v, p_adj in zip(shown, adjusted):
        assert v["p_adjusted"] == pytest.approx(p_adj, rel=1e-5)
        assert v["significant"] is bool(p_adj < 0.05)
    assert len(shown) >= (1 if campaign else 3)


def test_an_empty_variant_in_a_parquet_source_is_none_as_a_blank_csv_field(project, tmp_path):
    """README: variant empty = none. A CSV's blank field is NULL, but a Parquet file (or a
    database's text) keeps '': written so for half the null variants, the groups stay the same."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}],
                        project={"sources": {"campaign_leads": {"path": "sends.parquet"}}})
    rows = [{**s, "variant": "" if s["variant"] is None and s["id"] % 2 else s["variant"]} for s in SENDS]
    assert sum(r["variant"] == "" for r in rows) > 5
    (tmp_path / "sends.json").write_text(json.dumps(rows))
    duckdb.execute(f"copy (from read_json('{tmp_path / 'sends.json'}')) to '{root / 'sends.parquet'}' (format parquet)")
    segpipe(root, "run", "--as-of", AS_OF)
    for segment in ("1", "2"):
        args = ("variants", segment, *window_args("--format", "json"))
        assert json.loads(segpipe(root, *args).stdout) == json.loads(segpipe(project, *args).stdout)


def test_variants_table_and_csv(project):
    table = segpipe(project, "variants", "1", *window_args()).stdout
    assert "Campaign 1 Spring" in table and "control" in table and "(none)" in table
    assert "Benjamini–Hochberg" in table
    rows = list(csv.DictReader(io.StringIO(segpipe(project, "variants", "1", *window_args("--format", "csv")).stdout)))
    groups = expected_variants(1)
    assert {(int(r["campaign_id"]), r["variant"]) for r in rows} == {(c, v) for c in groups for v in groups[c]}
    # each value under its own column: control rows and compared rows alike
    result = json.loads(segpipe(project, "variants", "1", *window_args("--format", "json")).stdout)
    shown = {(c["campaign_id"], v["variant"]): v for c in result["campaigns"] for v in c["variants"]}
    as_text = lambda v: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    for r in rows:
        variant = shown[(int(r["campaign_id"]), r["variant"])]
        assert {k: r[k] for k in variant} == {k: as_text(v) for k, v in variant.items()}
    assert any(r["p_adjusted"] not in ("", "true", "false") for r in rows)
    assert all(list(v) == list(next(iter(shown.values()))) for v in shown.values())  # one key order in JSON too


def test_variants_of_a_segment_without_sends(project):
    result = json.loads(segpipe(project, "variants", "4", *window_args("--format", "json")).stdout)
    assert result["campaigns"] == []
    assert "(no sends in this window)" in segpipe(project, "variants", "4", *window_args()).stdout
    # a campaign that sent nothing to it (or does not exist) is named, not left to guess
    narrowed = segpipe(project, "variants", "1", "--campaign", "999", *window_args()).stdout
    assert narrowed.splitlines()[1:] == ["(campaign 999 sent nothing to this segment in this window)"]



@pytest.mark.parametrize("metric, count, tracked", [("reply_rate", "replied", ()),
                                                    ("click_rate", "clicked", ("clicks_tracked",))])
def test_variants_csv_has_the_same_columns_without_sends(project, metric, count, tracked):
    """The CSV header of a segment without sends is the one a sent segment's CSV has, so a
    script or BI import reading it sees one schema."""
    columns = ["campaign_id", "campaign_name", "workspace_id", "variant", "control", "leads_sent", count, *tracked, metric,
               f"{metric}_low", f"{metric}_high", "difference", "difference_low", "difference_high", "p_value",
               "test", "p_adjusted", "significant"]
    for segment in ("1", "4"):  # with sends, and without
        text = segpipe(project, "variants", segment, *window_args("--metric", metric, "--format", "csv")).stdout
        assert next(csv.reader(io.StringIO(text))) == columns

# --- file formats and export ---------------------------------------------------------------

def read_parquet(path):
    return duckdb.sql(f"select * from '{path}'").fetchall()


def read_xlsx(path):
    sheet = openpyxl.load_workbook(path, read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("command", [("top", "--rank-by", "wilson", "--limit", "10"), ("compare", "1", "2"),
                                     ("variants", "2")])
def test_parquet_and_xlsx_hold_the_csv_rows(project, tmp_path, command):
    text = segpipe(project, *command, *window_args("--format", "csv")).stdout
    expected = list(csv.reader(io.StringIO(text)))
    segpipe(project, *command, *window_args("--format", "parquet", "--output", tmp_path / "out.parquet"))
    segpipe(project, *command, *window_args("--format", "xlsx", "--output", tmp_path / "out.xlsx"))
    as_text = lambda v: "" if v is None else str(v).lower() if isinstance(v, bool) else str(plain(v))  # noqa: E731
    parquet = read_parquet(tmp_path / "out.parquet")
    xlsx = read_xlsx(tmp_path / "out.xlsx")
    assert xlsx[0] == expected[0]
    for got in (parquet, xlsx[1:]):
        assert [[as_text(v) for v in row] for row in got] == expected[1:]


@pytest.mark.parametrize("command, columns", [(("trend", "1", "2"), ["period_start"]),
                                              (("compare", "1", "2"), ["time_range_from", "time_range_to"])])
def test_dates_and_times_are_dates_and_times_in_parquet_and_xlsx(project, tmp_path, command, columns):
    """A trend's period and a comparison's window were text ('2025-01-06') in Parquet and XLSX,
    which a BI tool or a spreadsheet then cannot filter or chart by date; CSV still writes them
    as JSON does."""
    as_text = lambda v: v.isoformat() if type(v) is dt.date else plain(v)  # noqa: E731
    expected = list(csv.DictReader(io.StringIO(segpipe(project, *command, *window_args("--format", "csv")).stdout)))
    for fmt in ("parquet", "xlsx"):
        target = tmp_path / f"out.{fmt}"
        segpipe(project, *command, *window_args("--format", fmt, "--output", target))
        rows = read_parquet(target) if fmt == "parquet" else read_xlsx(target)[1:]
        header = list(expected[0])
        for row, want in zip(rows, expected, strict=True):
            for column in columns:
                value = row[header.index(column)]
                assert isinstance(value, dt.date), (fmt, column, value)
                # xlsx has no date type apart from a time: a date is a time at midnight
                if fmt == "xlsx" and column == "period_start":
                    value = value.date()
                assert as_text(value) == want[column], (fmt, column)


def test_export_a_published_table_in_every_format(project, tmp_path):
    con = duckdb.connect(str(project / "out.duckdb"), read_only=True)
    want = con.execute("select * from main.segment_performance_daily order by all").fetchall()
    columns = [d[0] for d in con.description]
    con.close()
    for fmt in ("csv", "parquet", "xlsx"):
        target = tmp_path / f"daily.{fmt}"
        assert segpipe(project, "export", "segment_performance_daily", "--format", fmt, "--output", target).stdout == ""
        if fmt == "xlsx":
            rows = read_xlsx(target)
            assert rows[0] == columns
            as_cell = lambda v: dt.datetime.combine(v, dt.time()) if type(v) is dt.date else v  # noqa: E731
            assert sorted(map(tuple, rows[1:])) == sorted(tuple(as_cell(v) for v in r) for r in want)
        else:
            got = duckdb.sql(f"select * from '{target}' order by all").fetchall()
            assert [tuple(str(v) for v in r) for r in got] == [tuple(str(v) for v in r) for r in want]
    stdout = segpipe(project, "export", "segments").stdout
    assert stdout.splitlines()[0].startswith("segment_id,segment_name")


@pytest.mark.parametrize("table", ["leads", "segment_campaign_daily", "segment_performance_hourly",
                                   "segment_performance", "segments"])
def test_export_to_a_csv_file_writes_what_stdout_shows(project, tmp_path, table):
    """Lists as `a;b` (as in the seed CSVs), UTC times with a Z and rates as Python writes them,
    in a file as on stdout."""
    target = tmp_path / f"{table}.csv"
    segpipe(project, "export", table, "--output", target)
    stdout = segpipe(project, "export", table).stdout
    assert target.read_text() == stdout
    rows = list(csv.DictReader(io.StringIO(stdout)))
    if table == "leads":
        assert any(";" in row["tags"] for row in rows) and not any("[" in row["tags"] for row in rows)
    elif table in ("segment_campaign_daily", "segment_performance_hourly"):
        time_column = "first_sent_at" if table == "segment_campaign_daily" else "hour"
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[time_column]) for row in rows)


def test_output_dash_is_stdout(project, tmp_path):
    """`--output -` prints, as curl and tar read `-`, and writes no file named '-'; a file format
    still needs a file."""
    for command in (("export", "leads", "--top", "2", *window_args()), ("export", "segments"),
                    ("top", *window_args("--format", "csv")), ("trend", "1", *window_args("--format", "json")),
                    ("leads", "1", "--format", "json")):
        dashed = run_segpipe(*command, "--output", "-", "--project-dir", project, cwd=tmp_path)
        assert (dashed.returncode, dashed.stdout) == (0, segpipe(project, *command).stdout), command
    assert list(tmp_path.iterdir()) == []
    assert segpipe(project, "export", "segments", "--format", "xlsx", "-o", "-", code=2).stderr == (
        "Error: --format xlsx writes a file: add --output FILE\n")


def test_export_unknown_table_suggests_the_name(project):
    result = segpipe(project, "export", "segment_performance_dayly", code=2)
    assert "did you mean 'segment_performance_daily'" in result.stderr
    result = segpipe(project, "export", "segments; drop table segments", code=2)
    assert "no published table" in result.stderr


def test_export_leads_of_the_top_segments(project, tmp_path):
    ranked = [s["segment_id"] for s in json.loads(segpipe(
        project, "top", *window_args("--limit", "2", "--rank-by", "wilson", "--format", "json")).stdout)["segments"]]
    target = tmp_path / "leads.parquet"
    segpipe(project, "export", "leads", "--top", "2", *window_args("--rank-by", "wilson", "--format", "parquet",
                                                                    "--output", target))
    rows = duckdb.sql(f"select lead_id, email, segment_ids from '{target}'").fetchall()
    expected = {lead["id"]: [s for s in ranked if MEMBERS[s](lead)] for lead in LEADS}
    expected = {k: v for k, v in expected.items() if v}
    assert len(rows) == len({r[0] for r in rows})  # each lead once
    assert {r[0]: r[2] for r in rows} == expected
    assert all(r[1] == LEAD_BY_ID[r[0]]["email"] for r in rows)
    csv_rows = list(csv.DictReader(io.StringIO(segpipe(project, "export", "leads", "--top", "2",
                                                       *window_args("--rank-by", "wilson")).stdout)))
    assert {int(r["lead_id"]): [int(x) for x in r["segment_ids"].split(";")] for r in csv_rows} == expected
    # a whole score as the leads file writes it (80, not 80.0), on stdout and in a file alike
    written_csv = tmp_path / "leads.csv"
    segpipe(project, "export", "leads", "--top", "2", *window_args("--rank-by", "wilson", "--output", written_csv))
    for listed in (csv_rows, list(csv.DictReader(written_csv.open()))):
        assert {int(r["lead_id"]): r["score"] for r in listed} == {
            k: "" if LEAD_BY_ID[k]["score"] is None else str(LEAD_BY_ID[k]["score"]) for k in expected}
    xlsx = tmp_path / "leads.xlsx"
    segpipe(project, "export", "leads", "--top", "2", *window_args("--rank-by", "wilson", "--format", "xlsx",
                                                                    "--output", xlsx))
    sheet = read_xlsx(xlsx)
    assert sheet[0][0] == "lead_id" and sheet[0][-1] == "segment_ids"
    assert {r[0]: [int(x) for x in r[-1].split(";")] for r in sheet[1:]} == expected


def test_export_bad_options(project, tmp_path):
    assert "use `segpipe export leads --top 2`" in segpipe(project, "export", "segments", "--top", "2", code=2).stderr
    assert "add --output FILE" in segpipe(project, "export", "segments", "--format", "xlsx", code=2).stderr
    assert "--format must be one of csv, parquet, xlsx" in segpipe(project, "export", "segments", "--format", "json",
                                                                     code=2).stderr
    assert segpipe(project, "export", "leads", "--top", "0", code=2).stderr == "Error: --top must be 1 or more, got 0\n"
    # a format named by the file's extension is not one the user gave with --format
    assert segpipe(project, "export", "segments", "--output", tmp_path / "s.json", code=2).stderr == (
        "Error: --output s.json: export writes csv, parquet, xlsx, not json — end the name in .csv, .parquet or "
        ".xlsx, or add --format\n")
    assert not (tmp_path / "s.json").exists()
    # without --top the ranking options do nothing, and a bad one is still an error, as `top` says it
    for bad in (("--metric", "bogus"), ("--days", "0"), ("--rank-by", "best"), ("--as-of", "2025-02-30")):
        said = segpipe(project, "top", *bad, code=2).stderr
        assert segpipe(project, "export", "segments", *bad, code=2).stderr == said, bad


def test_variants_of_sends_from_lead_metadata_say_they_have_no_campaign(tmp_path):
    """Without campaign sources (SPEC §5) the sends have no campaign: the table says so, not 'Campaign None'."""
    leads = [{**lead, "metadata": json.dumps({"sent_at": f"2025-01-{10 + i % 9:02d} 09:00:00", "opened": i % 2 == 0,
                                              "replied": i % 3 == 0, "bounced": False})}
             for i, lead in enumerate(LEADS)]
    root = make_project(tmp_path / "p", leads=leads, segments=SEGMENTS, with_campaigns=False,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    built = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF)
    assert built.returncode == 0, built.stderr
    us = sum(1 for lead in LEADS if lead["country"] == "US" and lead["workspace_id"] == 1)
    text = segpipe(root, "variants", "1", *window_args()).stdout
    assert "Campaign None" not in text
    assert f"Sends without a campaign (from lead metadata) (control: (none))" in text
    assert json.loads(segpipe(root, "variants", "1", *window_args("--format", "json")).stdout)["campaigns"][0][
        "variants"][0]["leads_sent"] == us


def file_rows(path, fmt):
    if fmt == "parquet":
        return duckdb.sql(f"select * from '{path}'").fetchall()
    return read_xlsx(path) if fmt == "xlsx" else path.read_text()


@pytest.mark.parametrize("command", [("top",), ("compare", "1", "2"), ("leads", "1"), ("export", "segments"),
                                     ("export", "leads", "--top", "2")])
def test_the_output_files_extension_chooses_the_format_when_format_is_not_given(project, tmp_path, command):
    """As DuckDB's COPY does: `--output top.parquet` alone writes Parquet, not a table named .parquet;
    a --format given wins; an extension segpipe does not write leaves the default."""
    args = (*command, *window_args()) if command[0] != "leads" else command
    for fmt in ("csv", "json", "parquet", "xlsx"):
        if command[0] == "export" and fmt == "json":
            continue
        chosen, given = tmp_path / f"chosen.{fmt}", tmp_path / f"given.{fmt}"
        segpipe(project, *args, "--output", chosen)
        segpipe(project, *args, "--format", fmt, "--output", given)
        assert file_rows(chosen, fmt) == file_rows(given, fmt), fmt
    default = "csv" if command[0] == "export" else "table"
    segpipe(project, *args, "--output", tmp_path / "plain.txt")
    segpipe(project, *args, "--format", default, "--output", tmp_path / "default.out")
    assert (tmp_path / "plain.txt").read_text() == (tmp_path / "default.out").read_text()
    segpipe(project, *args, "--format", "csv", "--output", tmp_path / "csv.json")
    assert (tmp_path / "csv.json").read_text() == (tmp_path / "given.csv").read_text()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
@pytest.mark.parametrize("command", [("export", "segments"), ("export", "leads", "--top", "2"), ("compare", "1", "2"),
                                     ("top",)])
def test_output_to_a_folder_is_a_usage_error(project, tmp_path, command, fmt):
    """--output naming a folder is the user's to fix (SPEC §7: one line, exit 2), whichever
    writer the format uses (Python, DuckDB's COPY, xlsxwriter)."""
    result = segpipe(project, *command, "--format", fmt, "--output", tmp_path, code=2)
    assert result.stderr == f"Error: --output: cannot write {tmp_path}: Is a directory\n"
    assert result.stdout == ""


def test_campaign_attribution_shares_no_sends(project):
    built = run_segpipe("run", "--project-dir", project, "--as-of", AS_OF, "--db", "campaign.duckdb",
                        "--vars", "{attribution: campaign}")
    assert built.returncode == 0, built.stdout + built.stderr
    result = json.loads(segpipe(project, "compare", "1", "2", "--db", "campaign.duckdb",
                                *window_args("--format", "json")).stdout)
    assert result["shared_sends"] == 0


# --- output files: never over the database, every value readable back -----------------------

def test_an_output_over_a_database_is_refused(project, tmp_path):
    """An export written over the published file (or through a link to it) would lose it."""
    database = project / "out.duckdb"
    before = database.read_bytes()
    link = tmp_path / "looks-like.csv"
    link.symlink_to(database)
    for args, shown in [(("export", "segments", "--output", database), f"{database}"),
                        (("top", *window_args("--format", "parquet", "--output", database)), f"{database}"),
                        (("trend", "1", *window_args("--output", link)), f"{link} (a link to {database})")]:
        result = segpipe(project, *args, code=2)
        assert result.stderr == (f"Error: --output: {shown} is a DuckDB database, which segpipe never writes "
                                 "an export over — give another file name\n")
    assert database.read_bytes() == before and link.is_symlink()


def test_odd_values_survive_every_output(tmp_path):
    """A bare carriage return is quoted in CSV (stdout as in the file), a NaN or infinite score
    is an empty xlsx cell and JSON's null, and a project model's TIMESTAMPTZ exports as UTC."""
    odd = {LEADS[2]["id"]: "inf", LEADS[5]["id"]: "NaN"}  # leads 3 and 6: US, so in segment 1
    assert all(MEMBERS[1](lead) for lead in LEADS if lead["id"] in odd)
    leads = [{**lead, "score": odd.get(lead["id"], lead["score"])} for lead in LEADS]
    segments = [{**SEGMENTS[0], "name": "Carriage\rreturn"}, *SEGMENTS[1:]]
    root = make_project(tmp_path / "p", leads=leads, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=segments,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    (root / "models" / "zoned.sql").write_text("select 1 as id, TIMESTAMPTZ '2025-01-31 23:30:00+02:00' as at\n")
    segpipe(root, "run", "--as-of", AS_OF)
    for args in (("export", "segments"), ("top", *window_args("--format", "csv", "--min-sent", "0", "--limit", "50"))):
        # as bytes: a text-mode pipe would read the \r as a line break itself
        stdout = subprocess.run([sys.executable, "-m", "segpipe", *args, "--project-dir", str(root)],
                                capture_output=True, check=True).stdout.decode()
        rows = list(csv.reader(io.StringIO(stdout, newline="")))
        assert "Carriage\rreturn" in [cell for row in rows for cell in row], stdout
        assert len({len(row) for row in rows}) == 1
        segpipe(root, *args, "--output", tmp_path / "out.csv")
        assert (tmp_path / "out.csv").read_bytes().decode() == stdout
    segpipe(root, "export", "leads", "--format", "xlsx", "--output", tmp_path / "leads.xlsx")
    sheet = read_xlsx(tmp_path / "leads.xlsx")
    scores = {row[0]: row[sheet[0].index("score")] for row in sheet[1:]}
    assert [scores[lead_id] for lead_id in odd] == [None, None]
    listed = json.loads(segpipe(root, "leads", "1", "--format", "json", "--limit", "1000").stdout)["leads"]
    assert {lead["lead_id"]: lead["score"] for lead in listed if lead["lead_id"] in odd} == dict.fromkeys(odd)
    assert segpipe(root, "export", "zoned").stdout == "id,at\n1,2025-01-31T21:30:00Z\n"


def test_a_value_longer_than_an_xlsx_cell_holds_is_refused_not_cut(tmp_path):
    """xlsxwriter cuts a string to Excel's 32,767 characters without a word: the sheet read back
    a value that was not the lead's. One line, exit 2, and the old file stays as it was."""
    long_tag = "t" * 40_000
    leads = [{**lead, "tags": long_tag if lead["id"] == LEADS[2]["id"] else lead["tags"]} for lead in LEADS]
    assert MEMBERS[1](LEADS[2])
    root = make_project(tmp_path / "p", leads=leads, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    segpipe(root, "run", "--as-of", AS_OF)
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"the old file")
    for args in (("export", "leads"), ("export", "leads", "--top", "4", *window_args("--min-sent", "0")),
                 ("leads", "1", "--limit", "1000")):
        result = segpipe(root, *args, "--format", "xlsx", "--output", target, code=2)
        assert re.fullmatch(r"Error: --format xlsx: tags in row \d+ has 40,000 characters, more than the 32,767 an "
                            r"XLSX cell holds; use --format parquet or csv\n", result.stderr), result.stderr
        assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "p"]
    segpipe(root, "export", "leads", "--output", tmp_path / "leads.parquet")
    assert [long_tag] in [tags for (tags,) in duckdb.sql(f"select tags from '{tmp_path / 'leads.parquet'}'").fetchall()]


def test_a_decimal_column_is_a_number_in_xlsx(tmp_path):
    """A project model's DECIMAL (a sum or round of one) was written as text, which a spreadsheet
    neither sums nor charts; one a double cannot hold exactly stays text, as a 64-bit id does."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    (root / "models" / "amounts.sql").write_text(
        "select 1 as id, 12.34::decimal(10, 2) as amount, 12345678901234567890.12::decimal(38, 2) as exact\n")
    segpipe(root, "run", "--as-of", AS_OF)
    segpipe(root, "export", "amounts", "--output", tmp_path / "amounts.xlsx")
    assert read_xlsx(tmp_path / "amounts.xlsx") == [["id", "amount", "exact"], [1, 12.34, "12345678901234567890.12"]]


def test_ctrl_c_during_an_xlsx_export_leaves_no_rows_in_tmpdir(tmp_path):
    """xlsxwriter keeps the sheet's rows in a file in $TMPDIR that only a finished workbook
    removes: an export stopped halfway left them there (the size of the sheet, at every attempt)."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    (root / "models" / "many.sql").write_text("select range as id, 'row ' || range as name from range(900000)\n")
    segpipe(root, "run", "--as-of", AS_OF)
    scratch, target = tmp_path / "tmp", tmp_path / "many.xlsx"
    scratch.mkdir()
    target.write_bytes(b"the old file")
    proc = subprocess.Popen([sys.executable, "-m", "segpipe", "export", "many", "--output", str(target),
                             "--project-dir", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 60
    while not any(scratch.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # some rows written
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert list(scratch.iterdir()) == []
    assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.xlsx", "p", "tmp"]


def test_a_table_longer_than_a_sheet_is_refused_before_it_is_written(tmp_path, cli, monkeypatch):
    """Counted first: streaming a million rows into xlsxwriter took half a minute before the error."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    (root / "models" / "rows.sql").write_text("select range as id from range(1048576)\n")
    segpipe(root, "run", "--as-of", AS_OF)
    target = tmp_path / "rows.xlsx"
    target.write_bytes(b"the old file")

    def never(*args, **kwargs):
        raise AssertionError("write_xlsx called")

    monkeypatch.setattr("segpipe.analyses.export.write_xlsx", never)
    result = cli("export", "rows", "--output", target, "--project-dir", root)
    assert (result.exit_code, result.stderr) == (2, "Error: --format xlsx: more than 1048575 rows do not fit in a "
                                                    "worksheet; use --format parquet or csv\n")
    assert target.read_bytes() == b"the old file"


def test_export_to_stdout_spells_every_type_as_the_csv_file_does(tmp_path):
    """stdout printed Python's spelling of a value (a FLOAT 0.1 as 0.10000000149011612, an INTERVAL
    as '3 days, 0:00:00', a BLOB as b'ab') where the file holds DuckDB's."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        workspaces=[{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    (root / "models" / "kinds.sql").write_text(
        "select 0.1::float as f, interval 3 day as i, 'ab'::blob as b, time '13:45:00' as t, {'a': 1} as s, "
        "12.30::decimal(6, 2) as d, true as yes, null::interval as nothing\n")
    segpipe(root, "run", "--as-of", AS_OF)
    segpipe(root, "export", "kinds", "--output", tmp_path / "kinds.csv")
    assert (tmp_path / "kinds.csv").read_text() == "f,i,b,t,s,d,yes,nothing\n0.1,3 days,ab,13:45:00,{'a': 1},12.30,true,\n"
    assert segpipe(root, "export", "kinds").stdout == (tmp_path / "kinds.csv").read_text()


def test_an_output_name_too_long_for_the_file_system_is_one_line(project, tmp_path):
    result = segpipe(project, "export", "segments", "--output", tmp_path / ("n" * 256 + ".csv"), code=2)
    assert result.stderr == f"Error: --output: cannot write {'n' * 40}…: File name too long\n"
    long_but_legal = tmp_path / ("n" * 248 + ".csv")
    segpipe(project, "export", "segments", "--output", long_but_legal)
    assert long_but_legal.read_text() == segpipe(project, "export", "segments").stdout


@pytest.mark.parametrize("command", [("top", "--rank-by", "shrunk"), ("compare", "1", "2"), ("variants", "1"),
                                     ("trend", "1"), ("best-time", "1"), ("leads", "1"), ("campaigns", "1")])
def test_a_parquet_files_types_do_not_depend_on_the_day(project, tmp_path, command):
    """A BI tool loading the file daily sees one schema: a window without sends (every rate
    null, or no row at all) writes the same column types as one with them."""
    def schema(as_of: str) -> list[tuple]:
        target = tmp_path / f"{as_of}.parquet"
        window = () if command[0] == "leads" else ("--as-of", as_of, "--days", "31")  # leads have no window
        segpipe(project, *command, *window, "--format", "parquet", "--output", target)
        return duckdb.sql(f"describe select * from '{target}'").fetchall()

    with_sends = schema(AS_OF)
    assert schema("2020-01-31") == with_sends
    types = {name: type_ for name, type_, *_ in with_sends}
    assert all(types[c] == "DOUBLE" for c in types if c.endswith(("_rate", "_low", "_high")) or c == "score")
