"""Incremental runs: unchanged models are skipped, and the result always equals a full rebuild."""

from __future__ import annotations

import hashlib
import re

import duckdb
import pytest

from segpipe import contract
from tests.conftest import REPO, SEND_COLUMNS, make_project, write_csv
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS

BUILT_IN_MODELS = len(list((REPO / "models").rglob("*.sql")))  # a project of tests/conftest.py has no own

PUBLISHED = tuple(r.name for r in contract.RELATIONS if r.schema == "main")


def snapshot(db) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in PUBLISHED}
    finally:
        con.close()


@pytest.fixture
def project(tmp_path, cli):
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    return root


def run_and_compare_with_full(cli, root, as_of="2025-02-02"):
    incremental = cli("run", "--project-dir", root, "--as-of", as_of)
    assert incremental.exit_code == 0, incremental.stderr
    full = cli("run", "--project-dir", root, "--as-of", as_of, "--full-refresh", "--db", "full.duckdb")
    assert full.exit_code == 0, full.stderr
    assert snapshot(root / "out.duckdb") == snapshot(root / "full.duckdb")
    return incremental.stdout


def test_rerun_with_nothing_changed_publishes_nothing(project, cli):
    db = project / "out.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert result.exit_code == 0
    # the published file's warnings are reported again (SPEC §12), from the file: nothing is tested
    assert result.stdout.splitlines()[0].startswith("WARN  test   sends_without_a_send_time ")
    assert result.stdout.splitlines()[2:] == [f"Nothing to do: all {BUILT_IN_MODELS} models are up to date in out.duckdb"]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def untimed_sends():
    campaign_time = {c["id"]: c["sent_at"] for c in CAMPAIGNS}
    return [s for s in SENDS if s["sent"] and not s["sent_at"] and not campaign_time[s["campaign_id"]]]


def test_a_run_that_skips_a_model_reports_its_warnings(project, cli):
    """SPEC §12: every run reports what makes figures smaller. A change of the window leaves
    send_problems as it was (skipped), and its warning is reported again from the file, not lost."""
    first = cli("run", "--project-dir", project, "--as-of", "2025-01-31", "--db", "fresh.duckdb")
    warned = [line for line in first.stdout.splitlines() if "sends_without_a_send_time" in line]
    assert len(warned) == 1 and warned[0].endswith(f"{len(untimed_sends())} failing row")
    example = first.stdout.splitlines()[first.stdout.splitlines().index(warned[0]) + 1]
    config = project / "project.yml"
    config.write_text(config.read_text().replace("days: 30", "days: 31"))
    again = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    lines = again.stdout.splitlines()
    assert any(line.startswith("SKIP  model  send_problems ") for line in lines)
    assert any(line.startswith("OK    model  segment_performance ") for line in lines)
    at = next(i for i, line in enumerate(lines) if "sends_without_a_send_time" in line)
    assert lines[at].startswith("WARN ") and lines[at].endswith(f"{len(untimed_sends())} failing row (not rebuilt since tested)")
    assert lines[at + 1] == example
    assert ", 1 warning in " in lines[-1]
    # a change that rebuilds the model tests it again: a send time for campaign 30 ends the warning
    campaigns = [{**c, "sent_at": c["sent_at"] or "2025-01-20 09:00:00"} for c in CAMPAIGNS]
    write_csv(project / "seeds" / "campaigns.csv", list(campaigns[0]), campaigns)
    fixed = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert any(line.startswith("PASS  test   sends_without_a_send_time ") for line in fixed.stdout.splitlines())
    assert ", 0 warnings in " in fixed.stdout.splitlines()[-1]
    nothing = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert nothing.stdout.startswith("Nothing to do: ")


def test_new_and_changed_sends_update_only_recent_days(project, cli):
    sends = [dict(s) for s in SENDS]
    sends[3]["replied_at"] = "2025-02-01 10:00:00"                      # a late reply inside the lookback
    sends.append({"id": 100, "campaign_id": 10, "lead_id": 2, "sent": True, "opened": True, "replied": True,
                  "bounced": False, "sent_at": "2025-02-02 09:00:00", "replied_at": "2025-02-02 11:00:00"})
    sends.append({"id": 101, "campaign_id": 20, "lead_id": 6, "sent": True, "opened": False, "replied": False,
                  "bounced": True, "sent_at": "2025-02-02 09:30:00"})
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, sends)
    output = run_and_compare_with_full(cli, project)
    assert "OK    model  segment_performance_daily" in output and "incremental" in output
    assert "SKIP  model  lead_segments" in output and "SKIP  model  segment_leads" in output


def test_segment_change_rebuilds_membership_and_the_whole_daily_table(project, cli):
    segments = project / "seeds" / "segments.yml"
    segments.write_text(segments.read_text().replace("- DE\n", "- DE\n      - US\n", 1))
    output = run_and_compare_with_full(cli, project)
    assert "OK    model  lead_segments" in output
    daily_line = next(line for line in output.splitlines() if "segment_performance_daily" in line)
    assert "incremental" not in daily_line


def test_lead_attribute_change_recomputes_membership(project, cli):
    from tests.conftest import LEAD_COLUMNS

    leads = [dict(l) for l in LEADS]
    leads[4]["role"] = "Founder"   # an EU CMO becomes a founder
    write_csv(project / "seeds" / "leads.csv", LEAD_COLUMNS, leads)
    output = run_and_compare_with_full(cli, project)
    assert "OK    model  segment_leads" in output
    daily_line = next(line for line in output.splitlines() if "segment_performance_daily" in line)
    assert "incremental" not in daily_line


def test_a_changed_campaign_rebuilds_the_send_tables_in_full(project, cli):
    """A campaign moved to another workspace (or segment, or time) changes sends of any age:
    its old sends must leave workspace 1's figures (SPEC §4), not only the recent days'."""
    from tests.conftest import CAMPAIGN_COLUMNS

    before = snapshot(project / "out.duckdb")
    campaigns = [dict(c) for c in CAMPAIGNS]
    campaigns[1]["workspace_id"] = 2   # "Dec founders", sent 2024-12-20: long before the lookback
    write_csv(project / "seeds" / "campaigns.csv", CAMPAIGN_COLUMNS, campaigns)
    output = run_and_compare_with_full(cli, project)
    for model in ("segment_performance_hourly", "segment_performance_daily", "segment_campaign_daily",
                  "workspace_performance_hourly", "segment_set_sends_daily"):
        line = next(line for line in output.splitlines() if f" {model} " in line)
        assert line.startswith("OK") and "incremental" not in line, line
    assert snapshot(project / "out.duckdb")["segment_performance_daily"] != before["segment_performance_daily"]


def test_attribution_change_rebuilds_in_full(project, cli):
    result = cli("run", "--project-dir", project, "--as-of", "2025-01-31", "--vars", "{attribution: campaign}")
    assert result.exit_code == 0
    daily_line = next(line for line in result.stdout.splitlines() if "segment_performance_daily" in line)
    assert daily_line.startswith("OK") and "incremental" not in daily_line


def test_removed_model_leaves_the_published_file(project, cli):
    (project / "models" / "extra_model.sql").write_text("select 1 as x\n")
    assert cli("run", "--project-dir", project, "--as-of", "2025-01-31").exit_code == 0
    (project / "models" / "extra_model.sql").unlink()
    result = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    assert "DROP  model  extra_model" in result.stdout
    con = duckdb.connect(str(project / "out.duckdb"), read_only=True)
    assert con.execute("select count(*) from information_schema.tables where table_name = 'extra_model'").fetchone() == (0,)


def test_removed_campaign_sources_fall_back_to_metadata_like_a_fresh_build(project, cli):
    for name in ("campaigns.csv", "campaign_leads.csv"):
        (project / "seeds" / name).unlink()
    output = run_and_compare_with_full(cli, project)
    assert "DROP  source campaign_leads" in output
    con = duckdb.connect(str(project / "out.duckdb"), read_only=True)
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'src' "
                       "and table_name like 'campaign%'").fetchone() == (0,)


def test_select_leaves_unselected_changes_for_the_next_run(project, cli):
    segments = project / "seeds" / "segments.yml"
    segments.write_text(segments.read_text().replace("- DE\n", "- DE\n      - US\n", 1))
    partial = cli("run", "--project-dir", project, "--as-of", "2025-01-31", "--select", "segment_performance")
    assert partial.exit_code == 0, partial.stderr
    assert "SKIP  model  lead_segments" in partial.stdout  # changed, but not selected
    output = run_and_compare_with_full(cli, project, as_of="2025-01-31")
    assert "OK    model  lead_segments" in output and "OK    model  segment_performance " in output


def test_a_select_run_without_a_published_file_builds_everything_once(tmp_path, cli):
    """With no published file yet, --select builds every model (README): the run after it, with
    nothing changed, has nothing to do rather than building everything a second time."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    first = cli("run", "--project-dir", root, "--as-of", "2025-01-31", "--select", "segment_performance")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.count("OK    model ") == BUILT_IN_MODELS
    again = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"Nothing to do: all {BUILT_IN_MODELS} models are up to date in out.duckdb"


def test_changed_seed_no_model_uses_is_reloaded(project, cli):
    (project / "seeds" / "regions.csv").write_text("code,region\nUS,Americas\n")
    assert cli("run", "--project-dir", project, "--as-of", "2025-01-31").exit_code == 0
    (project / "seeds" / "regions.csv").write_text("code,region\nUS,Americas\nDE,Europe\n")
    result = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert result.exit_code == 0 and "OK    seed   regions" in result.stdout
    con = duckdb.connect(str(project / "out.duckdb"), read_only=True)
    assert con.execute("select count(*) from seeds.regions").fetchone() == (2,)


def test_an_appended_file_with_a_column_the_others_lack_loads_like_a_full_build(tmp_path, cli):
    """Extra columns are allowed (SPEC §2): a new export that adds one (say `note`) loads in an
    incremental run as in a full build over the same files (appending it stopped the run)."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=(), segments=SEGMENTS)
    (root / "seeds" / "campaign_leads.csv").unlink()
    write_csv(root / "exports" / "sends-1.csv", SEND_COLUMNS, SENDS)
    (root / "project.yml").write_text((root / "project.yml").read_text()
                                      + "sources:\n  campaign_leads: {path: exports/sends-*.csv}\n")
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    new = {**SENDS[1], "id": 100, "sent_at": "2025-02-01 09:00:00", "note": "follow-up"}
    write_csv(root / "exports" / "sends-2.csv", [*SEND_COLUMNS, "note"], [new])
    output = run_and_compare_with_full(cli, root)
    assert "appended" not in output  # loaded again from every file, as the full build does
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert con.execute("select count(note) from src.campaign_leads").fetchone() == (1,)


def test_a_model_moved_to_another_schema_leaves_nothing_behind(project, cli):
    """A model whose config(schema=…) changes is rebuilt in its new schema; the copy of the
    published file must not keep it in the old one too (a BI user would still read it in
    main), as a fresh build does not."""
    (project / "models" / "extra_model.sql").write_text("select 1 as x\n")
    assert cli("run", "--project-dir", project, "--as-of", "2025-01-31").exit_code == 0
    (project / "models" / "extra_model.sql").write_text("{{ config(schema='internal') }}\nselect 1 as x\n")
    run_and_compare_with_full(cli, project, as_of="2025-01-31")
    tables = {}
    for db in ("out.duckdb", "full.duckdb"):
        with duckdb.connect(str(project / db), read_only=True) as con:
            tables[db] = con.execute("select table_schema from information_schema.tables "
                                     "where table_name = 'extra_model'").fetchall()
    assert tables["out.duckdb"] == tables["full.duckdb"] == [("internal",)]


def test_a_change_a_select_run_left_unbuilt_still_rebuilds_the_send_tables_in_full(project, cli):
    """A campaign moved to another workspace rebuilds the send tables in full (full_refresh_on).
    A --select run that builds none of them stores the campaigns' new fingerprint all the same;
    the next run must still rebuild them in full, not update their recent days only."""
    from tests.conftest import CAMPAIGN_COLUMNS

    campaigns = [dict(c) for c in CAMPAIGNS]
    campaigns[1]["workspace_id"] = 2   # "Dec founders", sent 2024-12-20: long before the lookback
    write_csv(project / "seeds" / "campaigns.csv", CAMPAIGN_COLUMNS, campaigns)
    partial = cli("run", "--project-dir", project, "--as-of", "2025-01-31", "--select", "stg_sends")
    assert partial.exit_code == 0, partial.stderr
    assert "SKIP  model  segment_performance_hourly" in partial.stdout
    output = run_and_compare_with_full(cli, project, as_of="2025-01-31")
    line = next(line for line in output.splitlines() if " segment_performance_hourly " in line)
    assert line.startswith("OK") and "incremental" not in line, line


def test_a_send_dated_years_ahead_does_not_hide_the_sends_after_it(project, cli):
    """One send dated 2062 (a typo) is the tables' last day; the recomputed days still start at
    the as-of date minus the lookback at most, so the next day's sends count as in a full build."""
    typo = {"id": 100, "campaign_id": 10, "lead_id": 2, "sent": True, "opened": False, "replied": False,
            "bounced": False, "sent_at": "2062-01-05 09:00:00"}
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [*SENDS, typo])
    run_and_compare_with_full(cli, project, as_of="2025-02-01")
    new_day = {**typo, "id": 101, "lead_id": 1, "replied": True, "sent_at": "2025-02-02 09:00:00"}
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [*SENDS, typo, new_day])
    output = run_and_compare_with_full(cli, project, as_of="2025-02-02")
    assert re.search(r"^OK\s+model\s+segment_performance_daily\s.*incremental", output, re.M), output


def test_a_select_run_that_moves_the_daily_table_on_does_not_hide_send_problems(project, cli):
    """send_problems recomputes from segment_performance_daily's last day. `--select
    segment_performance_hourly+` moves that day on without building send_problems; the next run
    must still find the problem sends in between (a send to an unknown lead), as a full build does."""
    unknown_lead = {**SENDS[1], "id": 100, "lead_id": 999, "sent_at": "2025-02-04 09:00:00"}
    later = {**SENDS[1], "id": 101, "lead_id": 1, "sent_at": "2025-02-10 09:00:00"}
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [*SENDS, unknown_lead, later])
    partial = cli("run", "--project-dir", project, "--as-of", "2025-02-10", "--select", "segment_performance_hourly+")
    assert partial.exit_code == 0, partial.stderr
    assert "SKIP  model  send_problems" in partial.stdout
    run_and_compare_with_full(cli, project, as_of="2025-02-10")
    problems = {}
    for db in ("out.duckdb", "full.duckdb"):
        with duckdb.connect(str(project / db), read_only=True) as con:
            problems[db] = con.execute("select * from internal.send_problems order by send_id").fetchall()
    assert problems["out.duckdb"] == problems["full.duckdb"]
    # and the sends without a send time, which send_problems holds too
    assert [row[0] for row in problems["full.duckdb"]] == [*(s["id"] for s in untimed_sends()), 100]


def send_problems_of(root, db: str) -> list[tuple]:
    with duckdb.connect(str(root / db), read_only=True) as con:
        return con.execute("select * from internal.send_problems order by all").fetchall()


def test_a_problem_send_timed_by_a_campaign_id_of_two_workspaces_is_reported_once(tmp_path, cli):
    """Campaign 3 of workspace 1 went out weeks before the days an incremental run recomputes,
    campaign 3 of workspace 2 within them. A send to an unknown lead without its own time has one
    copy per campaign of its id, one on each side of the start of those days. The incremental run
    reported the recent copy beside the old one a full build had kept: the send twice."""
    root = make_project(
        tmp_path / "proj", segments=[{"id": 1, "name": "everyone"}],
        leads=[{"id": 1, "workspace_id": 1, "email": "a@x.io", "country": "US"}],
        campaigns=[{"id": 3, "workspace_id": 1, "name": "old", "sent_at": "2025-01-05 09:00:00"},
                   {"id": 3, "workspace_id": 2, "name": "recent", "sent_at": "2025-01-30 09:00:00"}],
        campaign_leads=[{"id": 1, "campaign_id": 3, "lead_id": 1, "sent": True, "sent_at": "2025-01-31 10:00:00"},
                        {"id": 2, "campaign_id": 3, "lead_id": 999, "sent": True}])  # unknown lead, no own time
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [  # a new recent send: an incremental run
        {"id": 1, "campaign_id": 3, "lead_id": 1, "sent": True, "sent_at": "2025-01-31 10:00:00"},
        {"id": 2, "campaign_id": 3, "lead_id": 999, "sent": True},
        {"id": 3, "campaign_id": 3, "lead_id": 1, "sent": True, "sent_at": "2025-02-01 10:00:00"}])
    output = run_and_compare_with_full(cli, root, as_of="2025-02-01")
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental$", output, re.M), output
    assert send_problems_of(root, "out.duckdb") == send_problems_of(root, "full.duckdb")
    assert [row[0] for row in send_problems_of(root, "out.duckdb")] == [2]


def test_a_problem_send_exported_again_with_a_later_time_is_reported_as_a_full_build_reports_it(tmp_path, cli):
    """Send 2 (to an unknown lead) of weeks ago is listed again with a recent time, as a re-timed
    re-export would: two rows, counted as two sends like the performance tables count them. The
    incremental run added the recent row beside the old one, where a full build merged them into
    one report: the two disagreed."""
    sends = [{"id": 1, "campaign_id": 3, "lead_id": 1, "sent": True, "sent_at": "2025-01-31 10:00:00"},
             {"id": 2, "campaign_id": 3, "lead_id": 999, "sent": True, "sent_at": "2025-01-05 10:00:00"}]
    root = make_project(tmp_path / "proj", segments=[{"id": 1, "name": "everyone"}],
                        leads=[{"id": 1, "workspace_id": 1, "email": "a@x.io", "country": "US"}],
                        campaigns=[{"id": 3, "workspace_id": 1, "name": "c", "sent_at": "2025-01-05 09:00:00"}],
                        campaign_leads=sends)
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS,
              [*sends, {**sends[1], "sent_at": "2025-02-01 10:00:00"}])
    output = run_and_compare_with_full(cli, root, as_of="2025-02-01")
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental$", output, re.M), output
    assert send_problems_of(root, "out.duckdb") == send_problems_of(root, "full.duckdb")
    assert [(row[0], str(row[3])) for row in send_problems_of(root, "full.duckdb")] == \
        [(2, "2025-01-05 10:00:00"), (2, "2025-02-01 10:00:00")]


def test_an_incremental_run_keeps_the_sends_without_a_send_time_found_before(glob_project, cli):
    """Finding the sends without a send time reads every row of every file, and only a new send
    can add one: an incremental run keeps those send_problems holds, updating only its recent
    days, and the untimed send is still reported, as a full build reports it."""
    root, fmt = glob_project
    write_sends(root / "exports" / f"sends-2.{fmt}", [{**SENDS[1], "id": 100, "lead_id": 999, "sent_at": "2025-02-02 09:00:00"}])
    output = run_and_compare_with_full(cli, root)
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental$", output, re.M), output
    assert send_problems_of(root, "out.duckdb") == send_problems_of(root, "full.duckdb")
    assert [row[0] for row in send_problems_of(root, "out.duckdb")] == [*(s["id"] for s in untimed_sends()), 100]


@pytest.mark.parametrize("untimed", [{"campaign_id": 30}, {"campaign_id": 99}], ids=["untimed_campaign", "unknown_campaign"])
def test_a_new_file_with_a_send_without_a_send_time_rebuilds_send_problems_in_full(glob_project, cli, untimed):
    """Such a send has no day an incremental run recomputes, and send_problems keeps those it
    found before: it is rebuilt in full and says why. The performance tables, which leave such
    sends out, still update in place."""
    root, fmt = glob_project
    write_sends(root / "exports" / f"sends-2.{fmt}", [{**SENDS[1], "id": 100, "sent_at": "2025-02-02 09:00:00"},
                                                       {**SENDS[1], "id": 101, "sent_at": None, **untimed}])
    output = run_and_compare_with_full(cli, root)
    line = next(line for line in output.splitlines() if " send_problems " in line)
    assert line.startswith("OK") and line.endswith("in full: new files hold sends without a send time"), line
    for model in ("segment_performance_hourly", "segment_campaign_daily", "segment_set_sends_daily"):
        assert re.search(rf"^OK\s+model\s+{model}\s.*incremental$", output, re.M), output
    assert send_problems_of(root, "out.duckdb") == send_problems_of(root, "full.duckdb")
    assert [row[0] for row in send_problems_of(root, "out.duckdb")] == [*(s["id"] for s in untimed_sends()), 101]


def test_a_rewritten_export_with_a_send_without_a_send_time_rebuilds_send_problems_in_full(project, cli):
    """The same when the sends are reloaded whole (a rewritten file) and a changed row has no time."""
    untimed = {**SENDS[1], "id": 100, "campaign_id": 30, "sent_at": None}
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, [*SENDS, untimed])
    output = run_and_compare_with_full(cli, project)
    line = next(line for line in output.splitlines() if " send_problems " in line)
    assert line.startswith("OK") and line.endswith("in full: changed rows hold sends without a send time"), line
    assert send_problems_of(project, "out.duckdb") == send_problems_of(project, "full.duckdb")
    assert [row[0] for row in send_problems_of(project, "out.duckdb")] == [*(s["id"] for s in untimed_sends()), 100]


def test_an_untimed_copy_of_a_recent_send_is_reported_as_a_full_build_reports_it(tmp_path, cli):
    """Campaign 3 of workspace 1 has no send time, campaign 3 of workspace 2 one within the days an
    incremental run recomputes. A send of campaign 3 to an unknown lead has a copy of each, and the
    untimed one is reported. An incremental run that kept the untimed sends found before, without
    looking at them again, reported the recent copy too: the send twice."""
    sends = [{"id": 1, "campaign_id": 3, "lead_id": 1, "sent": True, "sent_at": "2025-01-31 10:00:00"},
             {"id": 2, "campaign_id": 3, "lead_id": 999, "sent": True}]  # unknown lead, no own time
    root = make_project(
        tmp_path / "proj", segments=[{"id": 1, "name": "everyone"}],
        leads=[{"id": 1, "workspace_id": 1, "email": "a@x.io", "country": "US"}],
        campaigns=[{"id": 3, "workspace_id": 1, "name": "untimed", "sent_at": None},
                   {"id": 3, "workspace_id": 2, "name": "recent", "sent_at": "2025-01-30 09:00:00"}],
        campaign_leads=sends)
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS,  # a new recent send: an incremental run
              [*sends, {**sends[0], "id": 3, "sent_at": "2025-02-01 10:00:00"}])
    output = run_and_compare_with_full(cli, root, as_of="2025-02-01")
    assert re.search(r"^OK\s+model\s+send_problems\s.*incremental$", output, re.M), output
    assert send_problems_of(root, "out.duckdb") == send_problems_of(root, "full.duckdb")
    assert [(row[0], row[3]) for row in send_problems_of(root, "out.duckdb")] == [(2, None)]


def write_sends(path, rows) -> None:
    """Send rows as a CSV file, or as Parquet typed as a warehouse export is, by the path's suffix."""
    if path.suffix == ".csv":
        write_csv(path, SEND_COLUMNS, rows)
        return
    text = path.with_suffix(".csv.tmp")
    write_csv(text, SEND_COLUMNS, rows)
    flags = ", ".join(f"{flag}::BOOLEAN AS {flag}" for flag in ("sent", "opened", "replied", "bounced", "clicked", "converted"))
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT id::BIGINT AS id, campaign_id::BIGINT AS campaign_id, lead_id::BIGINT AS lead_id, {flags}, "
                    "sent_at::TIMESTAMP AS sent_at, replied_at::TIMESTAMP AS replied_at, variant "
                    f"FROM read_csv('{text}', all_varchar = true)) TO '{path}' (FORMAT parquet)")
    text.unlink()


@pytest.fixture(params=["csv", "parquet"])
def glob_project(request, tmp_path, cli):
    """The sends in a glob of export files, built as of 2025-01-31. Parquet: the campaigns too, both
    read in place (views over the files, which a run replays after loading what changed)."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, segments=SEGMENTS)
    (root / "seeds" / "campaign_leads.csv").unlink()
    write_sends(root / "exports" / f"sends-1.{request.param}", SENDS)
    sources = f"sources:\n  campaign_leads: {{path: exports/sends-*.{request.param}}}\n"
    if request.param == "parquet":
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT id::BIGINT AS id, workspace_id::BIGINT AS workspace_id, name, "
                        f"segment_id::BIGINT AS segment_id, sent_at::TIMESTAMP AS sent_at FROM read_csv("
                        f"'{root / 'seeds' / 'campaigns.csv'}', all_varchar = true)) TO '{root / 'exports' / 'campaigns.parquet'}' "
                        "(FORMAT parquet)")
        (root / "seeds" / "campaigns.csv").unlink()
        sources += "  campaigns: {path: exports/campaigns.parquet}\n"
    (root / "project.yml").write_text((root / "project.yml").read_text() + sources)
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    return root, request.param


def test_a_new_file_of_recent_sends_updates_only_recent_days(glob_project, cli):
    root, fmt = glob_project
    recent = {**SENDS[1], "id": 100, "sent_at": "2025-02-02 09:00:00"}
    write_sends(root / "exports" / f"sends-2.{fmt}", [recent])
    output = run_and_compare_with_full(cli, root)
    for model in ("segment_performance_hourly", "segment_performance_daily", "segment_campaign_daily"):
        assert re.search(rf"^OK\s+model\s+{model}\s.*incremental$", output, re.M), output


@pytest.mark.parametrize("old_send", [
    {"sent_at": "2025-01-05 09:00:00"},                  # its own time, weeks before the recomputed days
    {"campaign_id": 11, "sent_at": None},                # its campaign's: "Dec founders", 2024-12-20
], ids=["own_time", "campaign_time"])
def test_a_new_file_with_sends_before_the_recomputed_days_rebuilds_in_full(glob_project, cli, old_send):
    """A back-filled export adds a send older than the days an incremental run recomputes (the
    last day minus vars.lookback_days): updated in place, the tables would leave it out until a
    --full-refresh. They are rebuilt in full, and say why."""
    root, fmt = glob_project
    before = snapshot(root / "out.duckdb")
    old = {**SENDS[1], "id": 100, "opened": True, "replied": True, **old_send}
    write_sends(root / "exports" / f"sends-2.{fmt}", [old])
    output = run_and_compare_with_full(cli, root)
    for model in ("segment_performance_hourly", "segment_performance_daily", "segment_campaign_daily",
                  "workspace_performance_hourly", "segment_set_sends_daily"):
        line = next(line for line in output.splitlines() if f" {model} " in line)
        assert line.startswith("OK") and "in full: new files hold sends before 2025-01-29" in line, line
    # the send changes days the window leaves alone: an update in place would differ
    after = snapshot(root / "full.duckdb")["segment_performance_daily"]
    assert {row for row in after if str(row[1]) < "2025-01-29"} != \
        {row for row in before["segment_performance_daily"] if str(row[1]) < "2025-01-29"}


def test_a_new_file_a_select_run_left_unbuilt_still_rebuilds_the_send_tables_in_full(glob_project, cli):
    """After a --select run that loads the new file but builds no send table, the next run no
    longer sees the file as new: it rebuilds them in full rather than miss its old sends."""
    root, fmt = glob_project
    write_sends(root / "exports" / f"sends-2.{fmt}", [{**SENDS[1], "id": 100, "sent_at": "2025-01-05 09:00:00"}])
    partial = cli("run", "--project-dir", root, "--as-of", "2025-02-02", "--select", "stg_sends")
    assert partial.exit_code == 0, partial.stderr
    assert "SKIP  model  segment_performance_hourly" in partial.stdout
    output = run_and_compare_with_full(cli, root)
    line = next(line for line in output.splitlines() if " segment_performance_hourly " in line)
    assert line.startswith("OK") and "incremental" not in line, line


def test_a_new_csv_read_only_through_a_clean_copy_rebuilds_in_full_and_says_so(tmp_path, cli):
    """A new CSV with mixed line endings loads through a normalised copy, so its sends cannot be read
    on their own to date them: the send tables are rebuilt in full, and the line says why."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, segments=SEGMENTS)
    (root / "seeds" / "campaign_leads.csv").unlink()
    write_sends(root / "exports" / "sends-1.csv", SENDS)
    (root / "project.yml").write_text((root / "project.yml").read_text()
                                      + "sources:\n  campaign_leads: {path: exports/sends-*.csv}\n")
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    new = root / "exports" / "sends-2.csv"
    write_sends(new, [{**SENDS[1], "id": 100 + i, "sent_at": "2025-02-02 09:00:00"} for i in range(3)])
    lines = new.read_bytes().split(b"\r\n")
    new.write_bytes(b"\r\n".join(lines[:2]) + b"\n" + b"\r\n".join(lines[2:]))  # one LF line among CRLF ones
    output = run_and_compare_with_full(cli, root)
    line = next(line for line in output.splitlines() if " segment_performance_hourly " in line)
    assert "in full: new files read only through a clean copy may hold sends before 2025-01-29" in line, line


SEND_TABLES = ("segment_performance_hourly", "segment_performance_daily", "segment_campaign_daily",
               "workspace_performance_hourly", "segment_set_sends_daily")


def assert_rebuilt_in_full(output: str, why: str) -> None:
    for model in SEND_TABLES:
        line = next(line for line in output.splitlines() if f" {model} " in line)
        assert line.startswith("OK") and f"in full: {why} sends before 2025-01-29" in line, line


def test_a_late_reply_to_an_old_send_in_a_rewritten_seed_rebuilds_in_full(project, cli):
    """The seed export rewritten with a reply to a send of 2025-01-11, weeks before the days an
    incremental run recomputes: compared row by row with the rows the published file was built
    from, it rebuilds the send tables in full (it kept the old figure until --full-refresh)."""
    before = snapshot(project / "out.duckdb")["segment_performance_daily"]
    sends = [dict(s) for s in SENDS]
    assert (sends[1]["sent_at"], sends[1]["replied"]) == ("2025-01-11 08:00:00", False)
    sends[1]["replied"] = True
    write_csv(project / "seeds" / "campaign_leads.csv", SEND_COLUMNS, sends)
    output = run_and_compare_with_full(cli, project)
    assert_rebuilt_in_full(output, "changed rows hold")
    after = snapshot(project / "out.duckdb")["segment_performance_daily"]
    assert {row for row in after if str(row[1]) == "2025-01-11"} != {row for row in before if str(row[1]) == "2025-01-11"}


def test_an_export_file_rewritten_with_an_old_send_changed_rebuilds_in_full(glob_project, cli):
    """A file of the glob rewritten (not a new one): a copied CSV is compared row by row; Parquet
    read in place keeps no old rows to compare, so any change to it rebuilds in full."""
    root, fmt = glob_project
    sends = [dict(s) for s in SENDS]
    sends[1]["replied"] = True
    write_sends(root / "exports" / f"sends-1.{fmt}", sends)
    output = run_and_compare_with_full(cli, root)
    assert_rebuilt_in_full(output, "changed rows hold" if fmt == "csv" else "changed files may hold")


def test_a_database_table_of_sends_updates_in_place_and_is_compared_row_by_row(tmp_path, cli):
    """README: a database table is compared row by row with the rows the published file was built
    from. New recent sends update the send tables in place (they were rebuilt in full on every run:
    a database table has no fingerprint, and none was stored for the models on it); a changed
    old send rebuilds them in full. Each run equals a full rebuild."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=[], segments=SEGMENTS,
                        project={"connections": {"app": {"type": "duckdb", "path": "app.duckdb"}},
                                 "sources": {"campaign_leads": {"connection": "app", "table": "campaign_leads"}}})
    (root / "seeds" / "campaign_leads.csv").unlink()
    write_csv(tmp_path / "sends.csv", SEND_COLUMNS, SENDS)
    with duckdb.connect(str(root / "app.duckdb")) as con:
        con.execute(f"create table campaign_leads as select * from read_csv('{tmp_path / 'sends.csv'}', all_varchar=true)")
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0

    with duckdb.connect(str(root / "app.duckdb")) as con:  # a send of the last day, to a new id
        con.execute("insert into campaign_leads select * replace (cast(id as bigint) + 1000 as id, "
                    "'2025-02-01 10:00:00' as sent_at) from campaign_leads where sent_at like '2025-01-3%' limit 1")
    output = run_and_compare_with_full(cli, root)
    for model in SEND_TABLES:
        line = next(line for line in output.splitlines() if f" {model} " in line)
        assert line.startswith("OK") and line.endswith("incremental"), line

    with duckdb.connect(str(root / "app.duckdb")) as con:  # the late reply to an old send
        assert con.execute("update campaign_leads set replied = 'true' where sent_at = '2025-01-11 08:00:00' "
                           "and replied = 'false' returning id").fetchall()
    assert_rebuilt_in_full(run_and_compare_with_full(cli, root), "changed rows hold")


def test_database_sources_rebuild_only_what_their_rows_change(tmp_path, cli):
    """Leads, campaigns and sends in a database: reloaded on every run (a table has no file to
    stat), but fingerprinted by their rows once loaded, so a rerun on unchanged tables rebuilds
    no model (it rebuilt everything, every run), new recent sends update the send tables in place,
    and a changed lead rebuilds membership and the send tables in full. Each run equals a full rebuild."""
    tables = ["leads", "campaigns", "campaign_leads"]
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        project={"connections": {"app": {"type": "duckdb", "path": "app.duckdb"}},
                                 "sources": {t: {"connection": "app", "table": t} for t in tables}})
    with duckdb.connect(str(root / "app.duckdb")) as con:
        for table in tables:
            con.execute(f"create table {table} as select * from read_csv('{root / 'seeds' / table}.csv', "
                        "all_varchar=true)")
            (root / "seeds" / f"{table}.csv").unlink()
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0

    def statuses(output: str) -> dict[str, str]:
        return {line.split()[2]: line.split()[0] + (" incremental" if line.endswith("incremental") else "")
                for line in output.splitlines() if line[6:12] == "model "}

    before = hashlib.sha256((root / "out.duckdb").read_bytes()).hexdigest()
    unchanged = run_and_compare_with_full(cli, root, as_of="2025-01-31").splitlines()
    assert [line.split()[:3] for line in unchanged if line[6:12] in ("source", "model ")] == [
        ["OK", "source", t] for t in tables]  # reloaded, and nothing built
    assert unchanged[-1] == f"Nothing to do: all {BUILT_IN_MODELS} models are up to date in out.duckdb"
    assert hashlib.sha256((root / "out.duckdb").read_bytes()).hexdigest() == before  # nor published

    with duckdb.connect(str(root / "app.duckdb")) as con:  # a send of the last day, to a new id
        con.execute("insert into campaign_leads select * replace (cast(id as bigint) + 1000 as id, "
                    "'2025-01-31 10:00:00' as sent_at) from campaign_leads where sent_at like '2025-01-3%' limit 1")
    new_send = statuses(run_and_compare_with_full(cli, root, as_of="2025-01-31"))
    assert {new_send[m] for m in SEND_TABLES} == {"OK incremental"}, new_send
    assert new_send["lead_segments"] == new_send["segment_leads"] == "SKIP"

    with duckdb.connect(str(root / "app.duckdb")) as con:  # a lead changes role
        assert con.execute("update leads set role = 'CMO' where role <> 'CMO' returning id").fetchall()
    changed_lead = statuses(run_and_compare_with_full(cli, root, as_of="2025-01-31"))
    assert changed_lead["lead_segments"] == "OK" and {changed_lead[m] for m in SEND_TABLES} == {"OK"}, changed_lead


def test_a_macro_changed_only_where_batches_and_incremental_runs_read_it_rebuilds_in_full(project, cli):
    """The send tables are built a slice at a time and updated in place, both from a branch of
    sends_since() that the compiled SQL (a plain full build's) never shows. A macro changed
    only there (an upgrade's, or a project's replacing it) is a new definition: the tables are
    rebuilt with it, as a fresh build would be, not left as they were ('Nothing to do')."""
    root = project
    built_in = (REPO / "macros" / "sends.sql").read_text()
    start = built_in.index("{% macro sends_since(since)")
    macro = built_in[start:built_in.index("{%- endmacro %}", start) + len("{%- endmacro %}")]
    changed = macro.replace("{{ sent_from(since, ", "not bounced and {{ sent_from(since, ")
    assert changed != macro
    (root / "macros" / "sends_since.sql").write_text(changed + "\n")
    output = run_and_compare_with_full(cli, root, as_of="2025-01-31")
    hourly = next(line for line in output.splitlines() if " segment_performance_hourly " in line)
    assert hourly.startswith("OK") and "incremental" not in hourly
