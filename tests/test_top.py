"""`segpipe top` against hand-made data, expectations computed in plain Python.

The centrepiece reproduces the SPEC §7 example exactly: 310 sends, 192 opened,
43 replied and 6 bounced for "US SaaS Founders" in January 2025, among decoys
that must not count (unsent rows, sends just outside the window, leads that
miss a filter, another workspace's leads, another segment's sends).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from typer.testing import CliRunner

from segpipe.cli import app
from tests.conftest import make_project

SPEC_EXAMPLE = {
    "time_range_from": "2025-01-01T00:00:00Z",
    "time_range_to": "2025-01-31T23:59:59Z",
    "metric": "reply_rate",
    "segments": [
        {"segment_id": 1, "segment_name": "US SaaS Founders", "leads_sent": 310,
         "opened": 192, "replied": 43, "bounced": 6, "open_rate": 0.6194,
         "reply_rate": 0.1387, "bounce_rate": 0.0194}
    ],
}
FOUNDERS = {"id": 1, "name": "US SaaS Founders", "workspace_id": 1,
            "description": "Founders of US SaaS companies with a reachable inbox",
            "filters": {"countries": ["US"], "industries": ["SaaS"], "roles": ["Founder", "Co-Founder", "CEO"],
                        "has_email": True, "min_score": 60}}
EU_CMOS = {"id": 2, "name": "EU CMOs", "filters": {"countries": ["DE", "FR"], "roles": ["CMO"]}}
WINDOW = (dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 31, 23, 59, 59))


def is_founder(lead: dict) -> bool:
    """SPEC §3 read by hand for segment 1: workspace 1, trimmed and case-insensitive."""
    def key(value):
        return (value or "").strip().lower()

    return (lead["workspace_id"] == 1 and key(lead["country"]) == "us" and key(lead["industry"]) == "saas"
            and key(lead["role"]) in ("founder", "co-founder", "ceo") and bool(key(lead["email"]))
            and lead["score"] is not None and lead["score"] >= 60)


def spec_dataset():
    """Leads, campaigns and sends whose January 2025 figures for segment 1 are the SPEC's."""
    roles = ["Founder", " co-founder", "CEO ", "founder"]
    leads = [{"id": i, "workspace_id": 1, "email": f"f{i}@example.com", "score": 60 + i % 40,
              "country": " US" if i % 3 else "us", "role": roles[i % 4], "industry": "SaaS",
              "source": "linkedin", "company_size": "11-50", "created_at": "2024-06-01 00:00:00"}
             for i in range(1, 63)]  # 62 founders x 5 campaigns = 310 sends
    decoys = [
        {"id": 100, "workspace_id": 1, "email": "low@example.com", "score": 59, "country": "US", "role": "CEO", "industry": "SaaS"},
        {"id": 101, "workspace_id": 1, "email": "  ", "score": 90, "country": "US", "role": "CEO", "industry": "SaaS"},
        {"id": 102, "workspace_id": 2, "email": "other@example.com", "score": 90, "country": "US", "role": "CEO", "industry": "SaaS"},
        {"id": 103, "workspace_id": 1, "email": "nos@example.com", "score": None, "country": "US", "role": "CEO", "industry": "SaaS"},
        {"id": 200, "workspace_id": 1, "email": "cmo@example.com", "score": 10, "country": "DE", "role": "CMO", "industry": "Fintech"},
    ]
    leads += [{"source": "apollo", "company_size": "1-10", "created_at": "2024-06-01 00:00:00", **d} for d in decoys]
    campaigns = [{"id": c, "workspace_id": 1, "name": f"January {c}", "segment_id": 1,
                  "sent_at": f"2025-01-{4 * c:02d} 09:00:00"} for c in range(1, 6)]
    campaigns.append({"id": 9, "workspace_id": 1, "name": "Edges", "segment_id": 2, "sent_at": None})
    sends = []
    founders = [lead for lead in leads if lead["id"] < 100]
    for c in range(1, 6):
        for lead in founders:
            n = len(sends)  # 0..309: the first 192 opened, the first 43 replied, the last 6 bounced
            sends.append({"campaign_id": c, "lead_id": lead["id"], "sent": True, "opened": n < 192,
                          "replied": n < 43, "bounced": n >= 304,
                          "sent_at": None if n % 7 == 0 else f"2025-01-{4 * c:02d} 10:{n % 60:02d}:00"})
    for lead_id in (100, 101, 102, 103):  # in the window, but leads that miss a filter of segment 1
        sends.append({"campaign_id": 1, "lead_id": lead_id, "sent": True, "opened": True, "replied": True, "bounced": False})
    for sent_at in ("2024-12-31 23:59:59", "2025-02-01 00:00:00"):  # just outside the window
        sends.append({"campaign_id": 9, "lead_id": 1, "sent": True, "opened": True, "replied": True, "bounced": True, "sent_at": sent_at})
        sends.append({"campaign_id": 9, "lead_id": 200, "sent": True, "opened": True, "replied": True, "bounced": False, "sent_at": sent_at})
    sends.append({"campaign_id": 1, "lead_id": 2, "sent": False, "opened": True, "replied": True, "bounced": True})  # not a send
    for i, send in enumerate(sends, 1):
        send["id"] = i
    return leads, campaigns, sends


def expected_founders(leads, campaigns, sends) -> dict:
    """Segment 1's January figures, counted in plain Python, rounded with Decimal."""
    by_id = {lead["id"]: lead for lead in leads}
    campaign_time = {c["id"]: c["sent_at"] for c in campaigns}
    counted = []
    for send in sends:
        when = send.get("sent_at") or campaign_time[send["campaign_id"]]
        if send["sent"] and when and is_founder(by_id[send["lead_id"]]):
            if WINDOW[0] <= dt.datetime.fromisoformat(when) <= WINDOW[1]:
                counted.append(send)
    sent = len(counted)
    figures = {k: sum(1 for s in counted if s[k]) for k in ("opened", "replied", "bounced")}

    def rate(n):
        return float((Decimal(n) / Decimal(sent)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))

    return {"segment_id": 1, "segment_name": "US SaaS Founders", "leads_sent": sent, **figures,
            "open_rate": rate(figures["opened"]), "reply_rate": rate(figures["replied"]),
            "bounce_rate": rate(figures["bounced"])}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def spec_project(tmp_path_factory):
    leads, campaigns, sends = spec_dataset()
    root = make_project(tmp_path_factory.mktemp("spec"), leads=leads, campaigns=campaigns,
                        campaign_leads=sends, segments=[FOUNDERS, EU_CMOS])
    result = invoke("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.output
    return root, expected_founders(leads, campaigns, sends)


def test_spec_example_json_exactly(spec_project):
    root, expected = spec_project
    result = invoke("top", "--project-dir", root, "--days", 31, "--as-of", "2025-01-31", "--format", "json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert expected == SPEC_EXAMPLE["segments"][0]  # the hand count agrees with the SPEC's figures
    assert payload == SPEC_EXAMPLE
    assert list(payload) == list(SPEC_EXAMPLE)
    assert [list(s) for s in payload["segments"]] == [list(s) for s in SPEC_EXAMPLE["segments"]]
    counts = payload["segments"][0]
    assert all(type(counts[k]) is int for k in ("segment_id", "leads_sent", "opened", "replied", "bounced"))


def test_csv_parses_back_to_the_json_figures(spec_project):
    root, _ = spec_project
    common = ["top", "--project-dir", root, "--days", 365, "--as-of", "2025-02-01", "--min-sent", 0]
    as_json = json.loads(invoke(*common, "--format", "json").stdout)["segments"]
    as_csv = list(csv.DictReader(io.StringIO(invoke(*common, "--format", "csv").stdout)))
    assert len(as_csv) == len(as_json) == 2

    def typed(row):
        return {k: (None if v == "" else v if k == "segment_name" else float(v) if "rate" in k else int(v))
                for k, v in row.items()}

    assert [typed(r) for r in as_csv] == as_json


def test_output_file_gets_the_data_and_stdout_stays_empty(spec_project, tmp_path):
    root, _ = spec_project
    target = tmp_path / "top.json"
    result = invoke("top", "--project-dir", root, "--days", 31, "--as-of", "2025-01-31", "--format", "json", "--output", target)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(target.read_text()) == SPEC_EXAMPLE


def test_table_has_a_header_line_and_aligned_columns(spec_project):
    root, _ = spec_project
    result = invoke("top", "--project-dir", root, "--days", 31, "--as-of", "2025-01-31")
    lines = result.stdout.splitlines()
    assert lines[0] == "Top 1 segment by reply_rate, 2025-01-01 to 2025-01-31 (31 UTC days)"
    assert lines[1].split() == ["#", "segment_id", "segment_name", "leads_sent", "opened", "replied", "bounced",
                                "open_rate", "reply_rate", "bounce_rate"]
    # the ranked rate with its 95 % Wilson interval: 43/310 → 0.10464–0.18163
    assert lines[3].split() == ["1", "1", "US", "SaaS", "Founders", "310", "192", "43", "6", "61.94%",
                                "13.9", "%", "(10.5–18.2)", "1.94%"]
    assert len(lines[1]) == len(lines[2]) == len(lines[3])


# --- ranking, ties, --min-sent, workspaces: one segment per country -------------------------

def country_dataset(plan):
    """plan: (segment id, workspace_id, country, sends, replies, bounces). Each segment's own
    leads (one per send) all sent on 2025-01-10, by a campaign of the leads' workspace."""
    leads, sends, segments = [], [], []
    for seg_id, workspace, country, n_sent, n_replied, n_bounced in plan:
        segments.append({"id": seg_id, "name": f"Segment {seg_id}", "workspace_id": workspace,
                         "filters": {"countries": [country]}})
        for k in range(n_sent):
            lead_id = seg_id * 1000 + k
            leads.append({"id": lead_id, "workspace_id": workspace or 1, "email": f"{lead_id}@x.io",
                          "country": country, "created_at": "2024-01-01 00:00:00"})
            sends.append({"id": lead_id, "campaign_id": workspace or 1, "lead_id": lead_id, "sent": True, "opened": k < n_replied,
                          "replied": k < n_replied, "bounced": k >= n_sent - n_bounced, "sent_at": "2025-01-10 12:00:00"})
    campaigns = [{"id": w, "workspace_id": w, "name": f"c{w}", "sent_at": "2025-01-10 09:00:00"}
                 for w in sorted({lead["workspace_id"] for lead in leads})]
    return leads, campaigns, sends, segments


# segment: id, workspace, country, sent, replied, bounced
PLAN = [
    (1, None, "AA", 10, 2, 1),   # reply 0.2, global
    (2, 1, "BB", 20, 4, 1),      # reply 0.2, more sends -> before 1 and 3
    (3, 1, "CC", 20, 4, 3),      # reply 0.2, same sends as 2 -> id decides
    (4, 2, "DD", 3, 1, 0),       # reply 0.3333, workspace 2
    (5, 1, "EE", 2, 2, 0),       # reply 1.0 but only 2 sends
    (6, 1, "FF", 0, 0, 0),       # no sends at all
]


@pytest.fixture(scope="module")
def ranked_project(tmp_path_factory):
    leads, campaigns, sends, segments = country_dataset(PLAN)
    root = make_project(tmp_path_factory.mktemp("ranked"), leads=leads, campaigns=campaigns,
                        campaign_leads=sends, segments=segments)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    return root


def ranked_ids(root, *args):
    result = invoke("top", "--project-dir", root, "--as-of", "2025-01-31", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return [s["segment_id"] for s in json.loads(result.stdout)["segments"]]


def expected_order(metric_index, ascending=False, min_sent=1, workspace=None):
    """Plain-Python ranking of PLAN: exact fraction, then sends descending, then id."""
    from fractions import Fraction

    rows = [p for p in PLAN if p[3] >= min_sent and (workspace is None or p[1] == workspace)]
    sign = 1 if ascending else -1
    return [p[0] for p in sorted(rows, key=lambda p: (sign * Fraction(p[metric_index], p[3]), -p[3], p[0]))]


def test_ties_break_on_sends_then_segment_id(ranked_project):
    assert ranked_ids(ranked_project, "--limit", 10) == expected_order(4) == [5, 4, 2, 3, 1]


def test_bounce_rate_ranks_ascending(ranked_project):
    assert ranked_ids(ranked_project, "--metric", "bounce_rate", "--limit", 10) == expected_order(5, ascending=True)


def test_limit_keeps_the_first(ranked_project):
    assert ranked_ids(ranked_project, "--limit", 2) == [5, 4]


def test_min_sent_leaves_out_small_segments(ranked_project):
    assert ranked_ids(ranked_project, "--min-sent", 3, "--limit", 10) == expected_order(4, min_sent=3) == [4, 2, 3, 1]
    assert 6 not in ranked_ids(ranked_project, "--limit", 10)


def test_min_sent_zero_shows_segments_without_sends_last_with_null_rates(ranked_project):
    result = invoke("top", "--project-dir", ranked_project, "--as-of", "2025-01-31", "--format", "json",
                    "--min-sent", 0, "--limit", 10)
    last = json.loads(result.stdout)["segments"][-1]
    assert last["segment_id"] == 6
    assert (last["leads_sent"], last["reply_rate"], last["open_rate"]) == (0, None, None)


def test_workspace_isolation_excludes_other_tenants_and_global_segments(ranked_project):
    assert ranked_ids(ranked_project, "--workspace-id", 1, "--limit", 10) == expected_order(4, workspace=1) == [5, 2, 3]
    assert ranked_ids(ranked_project, "--workspace-id", 2, "--limit", 10) == [4]
    assert ranked_ids(ranked_project, "--workspace-id", 99) == []


# --- click_rate and conversion_rate: distinct clicked and converted counts -------------------

# segment: id, country, sends, clicked, converted (clicked are a segment's first sends, converted its
# last; every other send's flag is null (not tracked) or false in turn, so rates are over tracked sends)
OUTCOME_PLAN = [
    (1, "AA", 10, 5, 1),   # click 5/7, conversion 1/6
    (2, "BB", 8, 2, 4),    # click 2/5, conversion 4/6 (ties 5, more sends)
    (3, "CC", 4, 2, 0),    # click 2/3, conversion 0/2
    (4, "DD", 6, 0, 3),    # click 0/3, conversion 3/5
    (5, "EE", 3, 1, 2),    # click 1/2, conversion 2/3
]


def outcome_dataset():
    """One lead per send, all on 2025-01-10; flags not set are null or false in turn. Decoys: unsent
    rows and a send after the window, every flag true."""
    leads, sends, segments = [], [], []
    for seg_id, country, n_sent, n_clicked, n_converted in OUTCOME_PLAN:
        segments.append({"id": seg_id, "name": f"Segment {seg_id}", "filters": {"countries": [country]}})
        for k in range(n_sent + 3):
            lead_id = seg_id * 100 + k
            leads.append({"id": lead_id, "workspace_id": 1, "email": f"{lead_id}@x.io", "country": country,
                          "created_at": "2024-01-01 00:00:00"})
            unset = None if k % 2 else False
            send = {"id": lead_id, "campaign_id": 1, "lead_id": lead_id, "sent": k < n_sent, "opened": k % 2 == 0,
                    "replied": k % 3 == 0, "bounced": k == n_sent - 1, "clicked": True if k < n_clicked else unset,
                    "converted": True if n_sent - n_converted <= k < n_sent else unset,
                    "sent_at": "2025-01-10 12:00:00"}
            if k >= n_sent:  # decoys
                send.update(opened=True, replied=True, bounced=True, clicked=True, converted=True,
                            sent=k == n_sent, sent_at="2025-02-01 00:00:00" if k == n_sent else send["sent_at"])
            sends.append(send)
    campaigns = [{"id": w, "workspace_id": w, "name": f"c{w}", "sent_at": "2025-01-10 09:00:00"}
                 for w in sorted({lead["workspace_id"] for lead in leads})]
    return leads, campaigns, sends, segments


def expected_outcomes(metric: str) -> list[dict]:
    """Every segment's JSON row for `metric`, counted in plain Python from the rows written, ranked by
    the exact fraction descending, then sends descending, then id."""
    from fractions import Fraction

    leads, _, sends, segments = outcome_dataset()
    country = {lead["id"]: lead["country"] for lead in leads}
    count_key = {"click_rate": "clicked", "conversion_rate": "converted"}[metric]
    rows = []
    for segment in segments:
        counted = [s for s in sends if s["sent"] and country[s["lead_id"]] in segment["filters"]["countries"]
                   and WINDOW[0] <= dt.datetime.fromisoformat(s["sent_at"]) <= WINDOW[1]]
        n = len(counted)
        counts = {k: sum(1 for s in counted if s[k] is True)
                  for k in ("opened", "replied", "bounced", "clicked", "converted")}
        # clicks and conversions: over the sends that track them (the flag not null), SPEC §4
        tracked = {k: sum(1 for s in counted if s[k] is not None) for k in ("clicked", "converted")}

        def rate(k):
            denominator = tracked.get(k, n)
            return float((Decimal(counts[k]) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))

        rows.append(({"segment_id": segment["id"], "segment_name": segment["name"], "leads_sent": n,
                      "opened": counts["opened"], "replied": counts["replied"], "bounced": counts["bounced"],
                      "open_rate": rate("opened"), "reply_rate": rate("replied"), "bounce_rate": rate("bounced"),
                      count_key: counts[count_key], metric: rate(count_key)},
                     Fraction(counts[count_key], tracked[count_key])))
    rows.sort(key=lambda pair: (-pair[1], -pair[0]["leads_sent"], pair[0]["segment_id"]))
    return [row for row, _ in rows]


@pytest.fixture(scope="module")
def outcome_project(tmp_path_factory):
    leads, campaigns, sends, segments = outcome_dataset()
    root = make_project(tmp_path_factory.mktemp("outcomes"), leads=leads, campaigns=campaigns,
                        campaign_leads=sends, segments=segments)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    return root


def test_the_outcome_data_tells_clicks_from_conversions():
    clicks, conversions = expected_outcomes("click_rate"), expected_outcomes("conversion_rate")
    assert [r["segment_id"] for r in clicks] == [1, 3, 5, 2, 4]
    assert [r["segment_id"] for r in conversions] == [2, 5, 4, 1, 3]
    by_id = {r["segment_id"]: r for r in conversions}
    assert all(r["clicked"] != by_id[r["segment_id"]]["converted"] for r in clicks)


@pytest.mark.parametrize("metric", ["click_rate", "conversion_rate"])
def test_click_rate_adds_its_count_and_rate_after_the_seed_keys(outcome_project, metric):
    result = invoke("top", "--project-dir", outcome_project, "--as-of", "2025-01-31", "--format", "json",
                    "--metric", metric, "--limit", 10)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["metric"] == metric
    expected = expected_outcomes(metric)
    assert payload["segments"] == expected  # counts, rates and ranking
    count_key = {"click_rate": "clicked", "conversion_rate": "converted"}[metric]
    keys = [*SPEC_EXAMPLE["segments"][0], count_key, metric]  # the seed's keys, then the count and the rate
    assert all(list(row) == keys and type(row[count_key]) is int for row in payload["segments"])


def test_a_workspace_without_segments_says_so(ranked_project):
    """PLAN has segments of workspaces 1 and 2 only; workspace 2's single segment has 3 sends."""
    assert {p[1] for p in PLAN} == {None, 1, 2}
    result = invoke("top", "--project-dir", ranked_project, "--as-of", "2025-01-31", "--workspace-id", 9)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "(workspace 9 has no segments — give one `workspace_id: 9` in the segments file)"
    # a workspace with segments but too few sends is told apart
    too_few = invoke("top", "--project-dir", ranked_project, "--as-of", "2025-01-31", "--workspace-id", 2, "--min-sent", 4)
    assert too_few.stdout.splitlines()[1] == "(no segment has enough sends in this window)"
    as_json = invoke("top", "--project-dir", ranked_project, "--as-of", "2025-01-31", "--workspace-id", 9, "--format", "json")
    assert json.loads(as_json.stdout)["segments"] == []


def test_window_outside_the_data_is_empty_not_an_error(ranked_project):
    result = invoke("top", "--project-dir", ranked_project, "--as-of", "2024-01-31")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "(no segment has enough sends in this window)"


def test_one_day_window_edges(ranked_project):
    assert ranked_ids(ranked_project, "--days", 1, "--as-of", "2025-01-10", "--limit", 10) == [5, 4, 2, 3, 1]
    assert ranked_ids(ranked_project, "--days", 1, "--as-of", "2025-01-11") == []
    assert ranked_ids(ranked_project, "--days", 365, "--as-of", "2026-01-10") == []  # starts 2025-01-11
    assert ranked_ids(ranked_project, "--days", 365, "--as-of", "2026-01-09", "--limit", 1) == [5]


@pytest.mark.parametrize("fraction,rounded", [
    ((3, 800), 0.0038),       # 0.00375: half rounds away from zero (round(3 / 800, 4) gives 0.0037)
    ((111, 800), 0.1388),     # 0.13875
    ((1, 32), 0.0313),        # 0.03125, exact in binary: a float's :.2f of 3.125 % gives 3.12
    ((43, 310), 0.1387),      # 0.138709…
    ((2, 3), 0.6667),
    ((1, 3), 0.3333),
    ((1, 20000), 0.0001),     # 0.00005
    ((0, 7), 0.0),
])
def test_rates_round_half_away_from_zero(fraction, rounded):
    from fractions import Fraction

    from segpipe.output import cell, round_rate

    assert round_rate(Fraction(*fraction)) == rounded
    assert cell(Fraction(*fraction)) == f"{rounded * 100:.2f}%"  # the table shows the JSON's digits
