"""SPEC §12's data-quality checks (issue 11): `segpipe run` warns, with the count and a sample
row with its column names, about everything that makes figures quietly smaller or wrong, and
still publishes (exit 0).

Expected counts are counted here in plain Python from the rows written.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO, SEND_COLUMNS, make_project, write_csv
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.datasets import _send as send

AS_OF = ("--as-of", "2025-01-31")
CHECKS = ("sends_to_unknown_leads", "sends_of_unknown_campaigns", "sends_across_workspaces",
          "sends_of_campaigns_with_an_unknown_segment", "sends_for_a_segment_of_another_workspace",
          "sends_without_a_send_time", "sends_with_a_duplicate_id", "replies_before_their_send",
          "leads_source_is_not_empty",
          "segments_file_has_segments",
          "tags_that_look_comma_separated", "scores_outside_0_to_100")


def warnings(stdout: str) -> dict[str, tuple[str, str]]:
    """{check: (its message, the example line after it)} for every WARN line of a run."""
    lines = stdout.splitlines()
    found = {}
    for i, line in enumerate(lines):
        match = re.match(r"WARN\s+(test|var|source)\s+(\S+)\s+\S+s\s+(.*)$", line)
        if match:
            example = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith(" ") else ""
            found[match.group(2)] = (match.group(3), example)
    return found


def run(cli, root):
    result = cli("run", "--project-dir", root, *AS_OF)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def test_clean_data_warns_of_nothing_but_what_it_holds(tmp_path, cli):
    """The shared dataset's only problem: send 12, whose campaign has no time either."""
    out = run(cli, make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS,
                                segments=SEGMENTS))
    assert set(warnings(out)) == {"sends_without_a_send_time"}
    for check in set(CHECKS) - {"sends_without_a_send_time"}:
        assert re.search(rf"^PASS\s+test\s+{check}\s", out, re.M), check
    assert out.splitlines()[-1].startswith("Done: ") and ", 1 warning in " in out.splitlines()[-1]


def test_problem_sends_are_counted_with_a_named_sample(tmp_path, cli):
    sends = [
        *SENDS,
        send(16, 10, 77777, {"sent", "opened"}, sent_at="2025-01-13 11:00:00"),   # lead not in leads
        send(17, 10, 88888, {"sent"}, sent_at="2025-01-13 12:00:00"),             # another one
        send(18, 10, 77777, {"opened"}, sent_at="2025-01-13 12:00:00"),           # not sent: no send
        send(19, 999, 1, {"sent", "opened"}, sent_at="2025-01-14 09:00:00"),      # campaign not in campaigns
        send(15, 10, 5, {"sent", "replied"}, sent_at="2025-01-12 10:00:00"),      # workspace 1 -> lead of 2
    ]
    known_leads = {lead["id"] for lead in LEADS}
    campaigns = {c["id"]: c for c in CAMPAIGNS}
    workspace = {lead["id"]: lead["workspace_id"] for lead in LEADS}
    sent = [s for s in sends if s["sent"]]
    expected = {
        "sends_to_unknown_leads": [s for s in sent if s["lead_id"] not in known_leads],
        "sends_of_unknown_campaigns": [s for s in sent if s["campaign_id"] not in campaigns],
        "sends_across_workspaces": [s for s in sent if s["campaign_id"] in campaigns and s["lead_id"] in workspace
                                    and campaigns[s["campaign_id"]]["workspace_id"] != workspace[s["lead_id"]]],
    }
    assert [len(v) for v in expected.values()] == [2, 1, 1]
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=sends, segments=SEGMENTS)
    found = warnings(run(cli, root))
    for check, rows in expected.items():
        message, example = found[check]
        assert message == f"{len(rows)} failing row{'s' if len(rows) > 1 else ''}", check
        assert example.startswith("e.g. send_id="), example
    # the sample names its columns and shows the values that explain the warning
    assert re.fullmatch(r"e\.g\. send_id=1[67], lead_id=(77777|88888), campaign_id=10, lead_known=False",
                        found["sends_to_unknown_leads"][1])
    assert found["sends_of_unknown_campaigns"][1] == "e.g. send_id=19, lead_id=1, campaign_id=999, campaign_known=False"
    assert found["sends_across_workspaces"][1] == ("e.g. send_id=15, lead_id=5, campaign_id=10, "
                                                   "campaign_workspace_id=1, lead_workspace_id=2")


def test_a_reply_timed_before_its_send_is_reported_with_both_times(tmp_path, cli):
    """Such a reply is counted, but its response time is negative and pulls avg_response_hours
    down: quietly wrong (SPEC §12). Its send time is its own or its campaign's; a reply time on
    a send not replied, or one in the same second, is no such reply."""
    sends = [
        *SENDS,
        send(100, 10, 1, {"sent", "replied"}, sent_at="2025-01-20 10:00:00", replied_at="2025-01-20 09:00:00"),
        send(101, 20, 5, {"sent", "replied"}, replied_at="2025-01-15 11:00:00"),   # campaign 20: 01-15 12:00
        send(102, 10, 2, {"sent"}, sent_at="2025-01-20 10:00:00", replied_at="2025-01-19 10:00:00"),  # no reply
        send(103, 10, 3, {"sent", "replied"}, sent_at="2025-01-20 10:00:00", replied_at="2025-01-20 10:00:00"),
    ]
    campaign_time = {c["id"]: c["sent_at"] for c in CAMPAIGNS}
    expected = [s for s in sends if s["sent"] and s["replied"] and s["replied_at"]
                and (s["sent_at"] or campaign_time[s["campaign_id"]] or "") > s["replied_at"]]
    assert [s["id"] for s in expected] == [100, 101]
    out = run(cli, make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=sends,
                                segments=SEGMENTS))
    found = warnings(out)
    assert set(found) == {"sends_without_a_send_time", "replies_before_their_send"}
    assert found["replies_before_their_send"] == (
        f"{len(expected)} failing rows",
        "e.g. send_id=100, lead_id=1, campaign_id=10, sent_at=2025-01-20 10:00:00, replied_at=2025-01-20 09:00:00")


@pytest.mark.parametrize("attribution", ["campaign", "matching"])
def test_sends_a_campaign_segment_cannot_count(tmp_path, cli, attribution):
    """Under campaign attribution a send counts only for its campaign's segment: a segment_id
    naming no segment, or a segment of another workspace than the lead, drops the send; under
    matching attribution the segment_id counts for nothing, so neither check fails."""
    campaigns = [*CAMPAIGNS,
                 {"id": 40, "workspace_id": 1, "name": "deleted segment", "segment_id": 99, "sent_at": "2025-01-20 09:00:00"},
                 {"id": 41, "workspace_id": 1, "name": "segment of workspace 3", "segment_id": 5,
                  "sent_at": "2025-01-21 09:00:00"}]
    sends = [*SENDS, send(40, 40, 1, {"sent", "opened"}), send(41, 40, 2, {"sent"}), send(42, 40, 3, {"opened"}),
             send(43, 41, 4, {"sent", "replied"})]
    segment_workspace = {seg["id"]: seg.get("workspace_id") for seg in SEGMENTS}
    lead_workspace = {lead["id"]: lead["workspace_id"] for lead in LEADS}
    campaign = {c["id"]: c for c in campaigns}
    sent = [s for s in sends if s["sent"] and s["campaign_id"] in campaign]
    unknown = [s for s in sent if campaign[s["campaign_id"]]["segment_id"] not in (None, *segment_workspace)]
    elsewhere = [s for s in sent if s["lead_id"] in lead_workspace
                 and segment_workspace.get(campaign[s["campaign_id"]]["segment_id"]) not in (None, lead_workspace[s["lead_id"]])]
    assert ([s["id"] for s in unknown], [s["id"] for s in elsewhere]) == ([40, 41], [43])
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=campaigns, campaign_leads=sends, segments=SEGMENTS,
                        project={"vars": {"days": 31, "attribution": attribution}})
    out = run(cli, root)
    found = warnings(out)
    if attribution == "matching":
        for check in ("sends_of_campaigns_with_an_unknown_segment", "sends_for_a_segment_of_another_workspace"):
            assert check not in found and re.search(rf"^PASS\s+test\s+{check}\s", out, re.M)
        return
    assert found["sends_of_campaigns_with_an_unknown_segment"][0] == f"{len(unknown)} failing rows"
    assert re.fullmatch(r"e\.g\. send_id=4[01], lead_id=[12], campaign_id=40, campaign_segment_id=99, "
                        r"campaign_segment_known=False", found["sends_of_campaigns_with_an_unknown_segment"][1])
    assert found["sends_for_a_segment_of_another_workspace"] == (
        "1 failing row", "e.g. send_id=43, lead_id=4, campaign_id=41, lead_workspace_id=1, campaign_segment_workspace_id=3")


def test_a_send_without_a_send_time_is_shown_with_its_columns(tmp_path, cli):
    found = warnings(run(cli, make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS,
                                           segments=SEGMENTS)))
    campaign_time = {c["id"]: c["sent_at"] for c in CAMPAIGNS}
    untimed = [s for s in SENDS if s["sent"] and not s["sent_at"] and not campaign_time[s["campaign_id"]]]
    assert found["sends_without_a_send_time"] == (
        "1 failing row", f"e.g. send_id={untimed[0]['id']}, lead_id={untimed[0]['lead_id']}, campaign_id=30, sent_at=NULL")


def test_a_send_without_a_send_time_is_counted_once_by_its_own_workspaces_campaign(tmp_path, cli):
    """Campaign ids are numbered per workspace: another workspace's campaign 10, not sent yet,
    made each send of workspace 1's campaign 10 without a time of its own (it has its
    campaign's) a send without a send time, and a send of campaign 30 in neither workspace
    two of them."""
    campaigns = [*CAMPAIGNS, {"id": 10, "workspace_id": 2, "name": "draft", "segment_id": None, "sent_at": None},
                 {"id": 30, "workspace_id": 1, "name": "draft", "segment_id": None, "sent_at": None}]
    lead_workspace = {lead["id"]: lead["workspace_id"] for lead in LEADS}
    campaign_time = {(c["workspace_id"], c["id"]): c["sent_at"] for c in campaigns}
    untimed = [s for s in SENDS if s["sent"] and not s["sent_at"]
               and not campaign_time[lead_workspace[s["lead_id"]], s["campaign_id"]]]
    assert [s["id"] for s in untimed] == [12]
    found = warnings(run(cli, make_project(tmp_path / "p", leads=LEADS, campaigns=campaigns, campaign_leads=SENDS,
                                           segments=SEGMENTS)))
    assert found["sends_without_a_send_time"] == (
        "1 failing row", f"e.g. send_id=12, lead_id={untimed[0]['lead_id']}, campaign_id=30, sent_at=NULL")


def test_a_repeated_campaign_id_stops_the_run_before_it_counts_sends_twice(tmp_path, cli):
    """Each send joins its campaign by id: a second row with campaign 10's id (say, an export
    appended twice) would count every send of campaign 10 twice, so the run fails and names it."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    run(cli, root)
    published = (root / "out.duckdb").read_bytes()
    write_csv(root / "seeds" / "campaigns.csv", list(CAMPAIGNS[0]), [*CAMPAIGNS, {**CAMPAIGNS[0], "name": "again"}])
    result = cli("run", "--project-dir", root, *AS_OF)
    assert result.exit_code == 1
    assert result.stderr == ("Error: 1 data test failed, nothing published: unique_stg_campaigns_workspace_id_campaign_id "
                             "(1 failing row, e.g. workspace_id=1, campaign_id=10, n=2)\n")
    assert (root / "out.duckdb").read_bytes() == published


def test_a_campaign_without_a_workspace_sharing_its_id_stops_the_run(tmp_path, cli):
    """A campaign without a workspace_id joins the sends of every workspace: beside campaign 10
    of workspace 1 it counted each of that campaign's sends twice. Alone, it is fine."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    run(cli, root)
    published = (root / "out.duckdb").read_bytes()
    write_csv(root / "seeds" / "campaigns.csv", list(CAMPAIGNS[0]),
              [*CAMPAIGNS, {**CAMPAIGNS[0], "workspace_id": None, "name": "no workspace"}])
    result = cli("run", "--project-dir", root, *AS_OF)
    assert result.exit_code == 1
    assert result.stderr == ("Error: 1 data test failed, nothing published: campaign_ids_without_a_workspace_are_their_own "
                             "(1 failing row, e.g. campaign_id=10, workspace_id=NULL, campaigns_with_this_id=2)\n")
    assert (root / "out.duckdb").read_bytes() == published
    alone = {**CAMPAIGNS[0], "id": 99, "workspace_id": None, "name": "no workspace"}
    write_csv(root / "seeds" / "campaigns.csv", list(CAMPAIGNS[0]), [*CAMPAIGNS, alone])
    assert "campaign_ids_without_a_workspace_are_their_own" not in warnings(run(cli, root))


def test_an_empty_leads_source_warns_and_every_send_is_unknown(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=[], campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    found = warnings(run(cli, root))
    assert found["leads_source_is_not_empty"] == ("stg_leads has no row with a lead_id", "")
    assert found["sends_to_unknown_leads"][0] == f"{sum(1 for s in SENDS if s['sent'])} failing rows"


def test_a_segments_file_without_segments_warns(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=[])
    found = warnings(run(cli, root))
    assert found["segments_file_has_segments"] == ("segments has no row with a segment_id", "")


def test_lead_values_a_filter_would_misread(tmp_path, cli):
    leads = [{**LEADS[0], "tags": "vip,webinar"},                       # one tag "vip,webinar"
             {**LEADS[1], "tags": "vip;webinar", "score": 100},        # two tags, a top score
             {**LEADS[2], "score": 150}, {**LEADS[3], "score": -5}, {**LEADS[4], "score": 0}, *LEADS[5:]]
    comma = [lead for lead in leads if any("," in t for t in str(lead.get("tags") or "").split(";"))]
    out_of_range = [lead for lead in leads if lead.get("score") is not None and not 0 <= lead["score"] <= 100]
    assert (len(comma), len(out_of_range)) == (1, 2)
    found = warnings(run(cli, make_project(tmp_path / "p", leads=leads, campaigns=CAMPAIGNS, campaign_leads=SENDS,
                                           segments=SEGMENTS)))
    assert found["tags_that_look_comma_separated"] == ("1 failing row",
                                                       "e.g. lead_id=1, workspace_id=1, tag_keys=['vip,webinar']")
    message, example = found["scores_outside_0_to_100"]
    assert message == "2 failing rows"
    assert re.fullmatch(r"e\.g\. lead_id=([34]), workspace_id=1, score=(150|-5)(\.0)?", example)


def test_a_nan_score_is_reported_from_parquet_too(tmp_path, cli):
    """A Parquet file's min/max statistics leave NaN out, and DuckDB decided `score between 0
    and 100` from them: the same leads warned from CSV and passed from Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    scores = [float("nan") if lead["id"] == 2 else lead["score"] for lead in LEADS]
    columns = {c: [lead.get(c) for lead in LEADS] for c in ("id", "workspace_id", "email", "source", "country", "role",
                                                          "company_size", "industry")}
    pq.write_table(pa.table({**columns, "score": pa.array(scores, pa.float64()),
                             "tags": [[t for t in (lead.get("tags") or "").split(";") if t] for lead in LEADS],
                             "created_at": pa.array([None] * len(LEADS), pa.timestamp("us"))}),
                   root / "leads.parquet")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["sources"] = {**config.get("sources", {}), "leads": {"path": "leads.parquet"}}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    outside = [lead["id"] for lead, score in zip(LEADS, scores) if score == score and score is not None and not 0 <= score <= 100]
    message, example = warnings(run(cli, root))["scores_outside_0_to_100"]
    assert message == f"{len(outside) + 1} failing row{'s' if outside else ''}"
    assert example == "e.g. lead_id=2, workspace_id=1, score=nan"


def test_a_var_no_model_reads_is_named_with_the_closest(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        project={"vars": {"days": 30, "attribtion": "campaign", "lookback_days": 5}})
    out = run(cli, root)
    found = warnings(out)
    assert found["attribtion"] == ("vars.attribtion is set, but no model reads it (did you mean 'attribution'?)", "")
    # lookback_days is read only by an incremental run, which this first run is not: still read
    assert "lookback_days" not in found
    assert ", 2 warnings in " in out.splitlines()[-1]


def test_a_source_no_model_reads_is_named_with_the_closest(tmp_path, cli):
    """`leeds:` for `leads:` would leave the seed leads in every figure; a project's own source
    read by its own model, and an optional contract source (workspaces), are not warned of."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    write_csv(root / "data" / "regions.csv", ["code"], [{"code": "EU"}])
    write_csv(root / "data" / "workspaces.csv", ["id", "name"], [{"id": 1, "name": "one"}])
    config = yaml.safe_load((root / "project.yml").read_text())
    config["sources"] = {**config.get("sources", {}), "leeds": {"path": "seeds/leads.csv"},
                         "regions": {"path": "data/regions.csv"}, "workspaces": {"path": "data/workspaces.csv"}}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    (root / "models" / "region_codes.sql").write_text("select code from {{ source('regions') }}\n")
    out = run(cli, root)
    found = warnings(out)
    assert found["leeds"] == ("sources.leeds is set, but no model reads it (did you mean 'leads'?)", "")
    assert not {"regions", "workspaces"} & set(found)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(the demo project's folder, what its run printed): what `make demo` runs."""
    root = tmp_path_factory.mktemp("demo")
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "project.yml", root / "project.yml")
    done = subprocess.run([sys.executable, "-m", "segpipe", "run", "--as-of", "2026-11-15"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return root, done


def test_make_demo_shows_the_checks_readably(demo):
    """The demo project's run (what `make demo` runs) prints each check with a named sample."""
    root, done = demo
    for check in CHECKS:
        assert re.search(rf"^(PASS|WARN)\s+test\s+{check}\s", done.stdout, re.M), check
    for check, (message, example) in warnings(done.stdout).items():
        assert re.fullmatch(r"[\d,]+ failing rows?", message), (check, message)
        assert re.fullmatch(r"e\.g\. [a-z_]+=\S+(, [a-z_]+=.+)*", example), (check, example)
    config = yaml.safe_load((REPO / "project.yml").read_text())
    assert set(config["vars"]) <= {"days", "attribution"}  # nothing the demo sets goes unread


@pytest.mark.parametrize("name", ["", "has space", "x;drop"])
def test_a_test_name_must_be_an_identifier(tmp_path, cli, name):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    (root / "models" / "checks.sql").write_text("select 1 as id\n")
    (root / "models" / "checks.yml").write_text(yaml.safe_dump(
        {"models": [{"name": "checks", "columns": [{"name": "id", "tests": [{"not_null": {"name": name}}]}]}]}))
    result = cli("run", "--project-dir", root, *AS_OF)
    assert result.exit_code == 2
    assert "not_null: name must be letters, digits and _" in result.stderr


def test_an_incremental_run_keeps_old_problems_and_finds_new_ones(tmp_path, cli):
    """send_problems is incremental like the daily table: a rerun after new sends looks at the
    recent days only, and warns exactly as a full rebuild would."""
    sends = [*SENDS, send(16, 10, 77777, {"sent"}, sent_at="2025-01-13 11:00:00")]
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=sends, segments=SEGMENTS)
    assert warnings(run(cli, root))["sends_to_unknown_leads"][0] == "1 failing row"
    later = [*sends, send(20, 20, 99999, {"sent"}, sent_at="2025-01-30 09:00:00"),   # unknown lead
             send(21, 10, 6, {"sent"}, sent_at="2025-01-30 10:00:00")]              # workspace 1 -> lead of 2
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS, later)
    out = run(cli, root)
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental", out, re.M), out
    found = warnings(out)
    assert found["sends_to_unknown_leads"][0] == "2 failing rows"
    assert found["sends_across_workspaces"] == ("1 failing row", "e.g. send_id=21, lead_id=6, campaign_id=10, "
                                                                 "campaign_workspace_id=1, lead_workspace_id=2")
    again = cli("run", "--project-dir", root, *AS_OF, "--full-refresh")
    assert again.exit_code == 0
    assert {k: v for k, v in warnings(again.stdout).items()} == found


def test_a_send_id_two_sent_rows_hold_is_reported_once_per_id(tmp_path, cli):
    """An export appended twice counts every send twice: SPEC §12's figures 'quietly wrong'.
    Each id held by more than one sent row is one failing row, in a full build and in an
    incremental run that adds a copy of a recent send; a row that was not sent is no send."""
    by_id = {s["id"]: s for s in SENDS}
    timed = [s for s in SENDS if s["sent"] and s["sent_at"]]
    twice, unsent = timed[0], next(s for s in SENDS if not s["sent"])
    sends = [*SENDS, dict(twice), dict(unsent)]
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=sends, segments=SEGMENTS)
    expected = sorted(i for i in by_id if sum(1 for s in sends if s["id"] == i and s["sent"]) > 1)
    assert expected == [twice["id"]]
    found = warnings(run(cli, root))
    assert found["sends_with_a_duplicate_id"][0] == "1 failing row"
    assert found["sends_with_a_duplicate_id"][1].startswith(f"e.g. send_id={twice['id']}, ")

    recent = max(timed, key=lambda s: s["sent_at"])  # copied in a new export: an incremental run sees it
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [*sends, dict(recent)])
    out = run(cli, root)
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental", out, re.M), out
    assert warnings(out)["sends_with_a_duplicate_id"][0] == "2 failing rows"
    again = cli("run", "--project-dir", root, *AS_OF, "--full-refresh")
    assert warnings(again.stdout)["sends_with_a_duplicate_id"] == warnings(out)["sends_with_a_duplicate_id"]


def readme_examples() -> list[tuple[list[str], str]]:
    """Each README example of commands on the demo data (a ```sh block of `segpipe` lines)
    with the output block right after it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [(commands.splitlines(), output) for commands, output in
            re.findall(r"```sh\n((?:segpipe [^\n]*--as-of 2026-11-15[^\n]*\n)+)```\n\n```\n(.*?)```\n", text, re.S)]


def test_the_readme_examples_print_what_they_show(demo):
    """The README's outputs are the commands' real outputs on the demo data, so they stay true."""
    import shlex

    root, run = demo
    examples = readme_examples()
    assert len(examples) >= 5
    for commands, shown in examples:
        printed = "".join(subprocess.run([sys.executable, "-m", "segpipe", *shlex.split(command)[1:]], cwd=root,
                                         capture_output=True, text=True, timeout=120).stdout for command in commands)
        assert printed == shown, commands
    # and the data-quality warning it shows is the demo run's
    text = (REPO / "README.md").read_text(encoding="utf-8")
    shown_warning = re.search(r"```\n(WARN  test   sends_without_a_send_time.*?)```", text, re.S).group(1)
    printed = run.stdout.splitlines()
    at = next(i for i, line in enumerate(printed) if "sends_without_a_send_time" in line)
    assert [line.split("  ")[-1].strip() for line in shown_warning.splitlines()] == [
        line.split("  ")[-1].strip() for line in printed[at:at + 2]]


def test_a_late_problem_send_next_to_a_new_day_warns_as_a_full_rebuild_does(tmp_path, cli):
    """send_problems recomputes the days the send tables recompute, counted from their last day
    *before* this run: new sends days later must not move its start past a late send to an
    unknown lead that the performance tables still pick up (2025-01-30, the old last day being
    2025-02-01)."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    run(cli, root)
    later = [*SENDS, send(20, 10, 2, {"sent"}, sent_at="2025-02-09 09:00:00"),
             send(21, 10, 99999, {"sent"}, sent_at="2025-01-30 09:00:00")]   # late, to an unknown lead
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS, later)
    out = run(cli, root)
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental", out, re.M), out
    full = cli("run", "--project-dir", root, *AS_OF, "--full-refresh", "--db", "full.duckdb")
    assert full.exit_code == 0, full.stderr
    assert "sends_to_unknown_leads" in warnings(full.stdout)
    assert warnings(out) == warnings(full.stdout)
