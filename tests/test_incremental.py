"""Incremental runs: unchanged models are skipped, and the result always equals a full rebuild."""

from __future__ import annotations

import hashlib

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
    assert result.stdout == f"Nothing to do: all {BUILT_IN_MODELS} models are up to date in out.duckdb\n"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


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


def test_changed_seed_no_model_uses_is_reloaded(project, cli):
    (project / "seeds" / "regions.csv").write_text("code,region\nUS,Americas\n")
    assert cli("run", "--project-dir", project, "--as-of", "2025-01-31").exit_code == 0
    (project / "seeds" / "regions.csv").write_text("code,region\nUS,Americas\nDE,Europe\n")
    result = cli("run", "--project-dir", project, "--as-of", "2025-01-31")
    assert result.exit_code == 0 and "OK    seed   regions" in result.stdout
    con = duckdb.connect(str(project / "out.duckdb"), read_only=True)
    assert con.execute("select count(*) from seeds.regions").fetchone() == (2,)
