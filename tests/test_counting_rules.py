"""SPEC §4's rules that change what is counted (issue 11): click and conversion rates over the
sends that track them, no send counted across workspaces, none to a lead not in `leads`.

Each reproducer runs the CLI on the hand-made dataset plus the rows that break the rule, and
compares with tests/reference.py (plain Python) and with figures counted by hand.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from tests import reference
from tests.conftest import make_project
from tests.test_pipeline import assert_performance
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.datasets import _send as send

WINDOW = ("--as-of", AS_OF.isoformat(), "--days", "31")

# A workspace-2 segment, so a workspace-1 campaign sending to a workspace-2 lead has somewhere to land.
NORTHWIND_CMOS = {"id": 8, "name": "Northwind CMOs", "workspace_id": 2, "filters": {"roles": ["CMO"]}}
# Campaign 22 belongs to workspace 2 but targets segment 3, workspace 1's "Acme everyone".
POACHING = {"id": 22, "workspace_id": 2, "name": "Northwind poaching", "segment_id": 3, "sent_at": "2025-01-18 09:00:00"}
EXTRA_SENDS = [
    # campaign 10 (workspace 1, segment 1) sends to lead 5 of workspace 2, who is in segment 8
    send(15, 10, 5, {"sent", "opened", "replied"}, sent_at="2025-01-12 10:00:00", clicked=True),
    # campaign 10 sends to lead 77777, who is not in `leads` (the only send that day)
    send(16, 10, 77777, {"sent", "opened", "replied"}, sent_at="2025-01-13 11:00:00", clicked=True),
    # campaign 22 (workspace 2) sends to its own workspace's leads 6 and 7, for segment 3 of workspace 1
    send(17, 22, 6, {"sent", "opened", "replied"}, sent_at="2025-01-18 10:00:00"),
    send(18, 22, 7, {"sent", "opened"}, sent_at="2025-01-18 10:00:00"),
]
SEGMENTS_X = [*SEGMENTS, NORTHWIND_CMOS]
CAMPAIGNS_X = [*CAMPAIGNS, POACHING]
SENDS_X = [*SENDS, *EXTRA_SENDS]


@pytest.fixture(scope="module", params=["matching", "campaign"])
def built(request, tmp_path_factory):
    """(attribution, project root) of the dataset with the rule-breaking rows, built once."""
    from typer.testing import CliRunner

    from segpipe.cli import app

    root = make_project(tmp_path_factory.mktemp(request.param), leads=LEADS, campaigns=CAMPAIGNS_X,
                        campaign_leads=SENDS_X, segments=SEGMENTS_X,
                        project={"vars": {"days": 31, "attribution": request.param}})
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.stdout + result.stderr
    return request.param, root


def cli_json(cli, *args):
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def published(root, table):
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        cur = con.execute(f"select * from {table}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def test_published_tables_follow_every_rule(built):
    attribution, root = built
    expected = reference.performance(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, as_of=AS_OF, days=31,
                                     attribution=attribution)
    assert_performance({row["segment_id"]: row for row in published(root, "segment_performance")}, expected)
    daily = {(r["segment_id"], r["day"]): r for r in published(root, "segment_performance_daily")}
    want_daily = reference.daily(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, attribution=attribution)
    assert {key: {k: row[k] for k in want_daily[key]} for key, row in daily.items()} == want_daily


def test_the_reference_leaves_out_what_the_rules_say():
    """The oracle itself, against figures counted by hand from the rows above."""
    matching = reference.performance(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, as_of=AS_OF, days=31)
    campaign = reference.performance(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, as_of=AS_OF, days=31,
                                     attribution="campaign")
    # segment 8 (workspace 2, leads 5 and 6): sends 8, 9, 11, 17 — not send 15 of workspace 1's campaign
    assert matching[8]["leads_sent"] == 4
    # segment 3 (workspace 1, leads 1-4): sends 1, 2, 3, 4, 7 by its own workspace's campaigns
    assert matching[3]["leads_sent"] == 5
    # by campaign: segment 3 gets nothing from workspace 2's campaign 22 (sends 17, 18)
    assert campaign[3]["leads_sent"] == 0
    # segment 1 by campaign: sends 1, 2, 3, 4, 7 — not send 15 (lead of workspace 2) nor 16 (unknown lead)
    assert campaign[1]["leads_sent"] == 5
    # segment 2 (EU CMOs): no send of it tracks clicks, so it has no click rate (not 0 %)
    assert matching[2]["clicks_tracked"] == 0 and matching[2]["click_rate"] is None
    assert matching[2]["conversions_tracked"] == 1 and matching[2]["conversion_rate"] == 1.0


def test_click_rate_is_over_tracked_sends_and_never_reads_untracked_as_zero(built, cli):
    attribution, root = built
    expected = reference.performance(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, as_of=AS_OF, days=31,
                                     attribution=attribution)
    for metric, count in (("click_rate", "clicked"), ("conversion_rate", "converted")):
        payload = cli_json(cli, "top", "--project-dir", root, *WINDOW, "--metric", metric, "--limit", 20)
        shown = {s["segment_id"]: s for s in payload["segments"]}
        sent = {seg_id: row for seg_id, row in expected.items() if row["leads_sent"] >= 1}
        assert set(shown) == set(sent)
        for seg_id, row in sent.items():
            want = None if row[metric] is None else round(row[metric], 4)
            assert (shown[seg_id][count], shown[seg_id][metric]) == (row[count], want), (metric, seg_id)
        # measured rates first (descending), then the segments that track nothing
        rates = [s[metric] for s in payload["segments"]]
        measured = [r for r in rates if r is not None]
        assert rates == measured + [None] * (len(rates) - len(measured)) and measured == sorted(measured, reverse=True)
        if attribution == "matching" and metric == "click_rate":
            assert shown[2]["click_rate"] is None  # today 0.0, ranked among the measured


def test_top_of_a_workspace_counts_only_its_own_sends(built, cli):
    attribution, root = built
    expected = reference.performance(SEGMENTS_X, LEADS, CAMPAIGNS_X, SENDS_X, as_of=AS_OF, days=31,
                                     attribution=attribution)
    for workspace in (1, 2):
        payload = cli_json(cli, "top", "--project-dir", root, *WINDOW, "--workspace-id", workspace,
                           "--min-sent", 0, "--limit", 20)
        assert {s["segment_id"]: s["leads_sent"] for s in payload["segments"]} == {
            s["id"]: expected[s["id"]]["leads_sent"] for s in SEGMENTS_X if s.get("workspace_id") == workspace}


def campaign_names(cli, root, segment_id):
    payload = cli_json(cli, "campaigns", segment_id, "--project-dir", root, *WINDOW)
    return {c["campaign_name"]: c["leads_sent"] for c in payload["campaigns"]}


def test_campaigns_of_a_segment_never_list_another_workspaces_campaign(built, cli):
    attribution, root = built
    if attribution == "campaign":
        # today: workspace 2's "Northwind poaching" with 2 sends to workspace-2 leads
        assert campaign_names(cli, root, 3) == {}
        # "Jan founders": sends 1, 2, 3, 4 (send 14 is after the window), not 15 nor 16
        assert campaign_names(cli, root, 1) == {"Jan founders": 4, "Dec founders": 1}
    else:
        # today: workspace 1's "Jan founders" (send 15) is listed under workspace 2's segment
        assert campaign_names(cli, root, 8) == {"CMOs": 2, "no segment": 1, "Northwind poaching": 1}


def test_a_send_to_an_unknown_lead_counts_for_no_segment(built):
    """Send 16 (lead 77777, campaign 10 of segment 1) is the only send on 2025-01-13; today
    campaign attribution counts it for segment 1."""
    _, root = built
    days = {r["day"].isoformat() for r in published(root, "segment_performance_daily")}
    assert "2025-01-12" not in days  # send 15 is across workspaces (and the day's only other send)
    assert "2025-01-13" not in days


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_a_campaign_id_two_workspaces_use_names_only_the_senders_campaign(tmp_path, cli, attribution):
    """Campaign ids numbered per workspace: workspace 2's campaign 10 never lends its name (nor
    a second row) to workspace 1's campaign 10 in workspace 1's segment (SPEC §4)."""
    campaigns = [{"id": 10, "workspace_id": 1, "name": "Acme Jan", "segment_id": 3, "sent_at": "2025-01-10 09:00:00"},
                 {"id": 10, "workspace_id": 2, "name": "Northwind secret", "segment_id": None,
                  "sent_at": "2025-01-10 09:00:00"}]
    sends = [send(1, 10, 1, {"sent", "opened", "replied"}, variant="A"), send(2, 10, 2, {"sent"}, variant="B")]
    root = make_project(tmp_path, leads=LEADS, campaigns=campaigns, campaign_leads=sends,
                        segments=[s for s in SEGMENTS if s["id"] == 3],
                        project={"vars": {"days": 31, "attribution": attribution}})
    assert cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat()).exit_code == 0
    assert campaign_names(cli, root, 3) == {"Acme Jan": 2}  # today also {"Northwind secret": 2}
    variants = cli_json(cli, "variants", 3, "--project-dir", root, *WINDOW)
    assert [c["campaign_name"] for c in variants["campaigns"]] == ["Acme Jan"]


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_a_global_segment_lists_each_workspaces_campaign_of_a_shared_id_apart(tmp_path, cli, attribution):
    """Campaign ids are numbered per workspace, so workspace 1's and workspace 2's campaign 10 are
    two campaigns: a segment of every workspace lists them apart, each with its own sends and
    name, and no send is reported across workspaces because another workspace uses its
    campaign's id; a send to an unknown lead is reported once (SPEC §4, §12)."""
    from tests.test_data_quality import warnings

    everyone = {"id": 60, "name": "Everyone", "filters": {}}
    campaigns = [{"id": 10, "workspace_id": 1, "name": "Acme Jan", "segment_id": 60, "sent_at": "2025-01-10 09:00:00"},
                 {"id": 10, "workspace_id": 2, "name": "Northwind Jan", "segment_id": 60,
                  "sent_at": "2025-01-12 09:00:00"}]
    sends = [send(1, 10, 1, {"sent", "opened", "replied"}, variant="A"), send(2, 10, 2, {"sent"}, variant="B"),
             send(3, 10, 5, {"sent", "replied"}, variant="A"), send(4, 10, 6, {"sent"}, variant="A"),
             send(5, 10, 77777, {"sent"})]
    root = make_project(tmp_path, leads=LEADS, campaigns=campaigns, campaign_leads=sends, segments=[everyone],
                        project={"vars": {"days": 31, "attribution": attribution}})
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    # counted here: a send's campaign is the campaign 10 of its lead's workspace
    lead_workspace = {lead["id"]: lead["workspace_id"] for lead in LEADS}
    names = {c["workspace_id"]: c["name"] for c in campaigns}
    expected = {}
    for s in sends:
        if s["lead_id"] in lead_workspace:
            group = expected.setdefault(lead_workspace[s["lead_id"]], {})
            group[s["variant"]] = group.get(s["variant"], 0) + 1
    assert expected == {1: {"A": 1, "B": 1}, 2: {"A": 2}}

    listed = cli_json(cli, "campaigns", 60, "--project-dir", root, *WINDOW)["campaigns"]
    assert [(c["campaign_id"], c["campaign_name"], c["workspace_id"], c["leads_sent"]) for c in listed] == [
        (10, names[ws], ws, sum(groups.values())) for ws, groups in sorted(expected.items())]
    top = cli_json(cli, "top", "--project-dir", root, *WINDOW)["segments"]
    assert [s["leads_sent"] for s in top] == [sum(c["leads_sent"] for c in listed)]
    variants = cli_json(cli, "variants", 60, "--project-dir", root, *WINDOW)["campaigns"]
    assert [(c["campaign_name"], c["workspace_id"], {v["variant"]: v["leads_sent"] for v in c["variants"]})
            for c in variants] == [(names[ws], ws, groups) for ws, groups in sorted(expected.items())]

    found = warnings(result.stdout)
    assert "sends_across_workspaces" not in found and "sends_for_a_segment_of_another_workspace" not in found
    assert found["sends_to_unknown_leads"] == ("1 failing row", "e.g. send_id=5, lead_id=77777, campaign_id=10, "
                                               "lead_known=False")
