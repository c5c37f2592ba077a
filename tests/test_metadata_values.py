"""SPEC §5 and §12: without campaign sources, a send's values come from leads.metadata, and
a value there that cannot be read stops the run like any bad CSV value: one line naming
the file, line, column and key and what is accepted, exit 2, the published file as it was.
Each run is the real CLI in a subprocess; expectations are written out by hand."""

from __future__ import annotations

import json
import shutil
import sqlite3

import duckdb
import pytest
import yaml

from tests.conftest import LEAD_COLUMNS, make_project, run_segpipe, write_csv

AS_OF = "2025-01-31"
TIMES = "a date or time such as 2025-01-31, 2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset needs the seconds)"
FLAGS = "true/false, t/f, yes/no, y/n or 1/0"
#: lead id → metadata. In the 30 days to AS_OF: leads 1-4 are sent, 1, 2 and 4 opened,
#: 1 replied, 3 bounced; only lead 2 says whether it was clicked (it was). Leads 5, 6 and 9
#: have no sent_at (9's is blank), so nothing else in their metadata is read; lead 8 was sent in 2024.
METADATA = {
    1: {"sent_at": "2025-01-10T09:00:00Z", "opened": True, "replied": "Yes ", "bounced": False,
        "replied_at": "2025-01-10 12:00:00"},
    2: {"sent_at": "2025-01-11 08:00:00", "opened": "t", "replied": None, "bounced": "0", "clicked": "y"},
    3: {"sent_at": "2025-01-12", "opened": "", "bounced": 1},
    4: {"sent_at": "2025-01-13T10:00:00+02:00", "opened": "1", "replied": "F"},
    5: {"opened": "maybe", "replied_at": "soon"},
    6: {"sent_at": None, "opened": "oui"},
    7: None,
    8: {"sent_at": "2024-06-01", "opened": True},
    9: {"sent_at": " ", "opened": "maybe"},
}


def leads(metadata: dict) -> list[dict]:
    return [{"id": lead, "workspace_id": 1, "email": f"lead{lead}@example.com", "created_at": "2024-12-01",
             "metadata": json.dumps(meta) if meta is not None else None} for lead, meta in metadata.items()]


def run(root):
    return run_segpipe("run", "--project-dir", root, "--as-of", AS_OF)


def top(root, *args) -> dict:
    result = run_segpipe("top", "--project-dir", root, "--as-of", AS_OF, "--days", 30, "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["segments"][0]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A metadata-fallback project, run once; tests work on copies of it."""
    root = make_project(tmp_path_factory.mktemp("metadata") / "proj", leads=leads(METADATA),
                        segments=[{"id": 1, "name": "Everyone"}], with_campaigns=False)
    result = run(root)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def project(published, tmp_path):
    return shutil.copytree(published, tmp_path / "proj")


def test_accepted_spellings_give_the_counts_of_the_sends(published):
    assert {k: v for k, v in top(published).items() if k in ("leads_sent", "opened", "replied", "bounced")} == {
        "leads_sent": 4, "opened": 3, "replied": 1, "bounced": 1}
    assert {k: v for k, v in top(published, "--metric", "click_rate").items() if k in ("clicked", "click_rate")} == {
        "clicked": 1, "click_rate": 1.0}


@pytest.mark.parametrize("metadata, key, shown, type_, forms", [
    ({"sent_at": "next tuesday"}, "sent_at", "next tuesday", "TIMESTAMP", TIMES),
    ({"sent_at": 1736467200}, "sent_at", "1736467200", "TIMESTAMP", TIMES),
    ({"sent_at": "2025-01-10 24:00:00"}, "sent_at", "2025-01-10 24:00:00", "TIMESTAMP", TIMES),  # DuckDB: the 11th
    ({"sent_at": "2025-01-10", "replied": True, "replied_at": "soon"}, "replied_at", "soon", "TIMESTAMP", TIMES),
    ({"sent_at": "2025-01-10", "opened": "maybe", "replied": "oui"}, "opened", "maybe", "BOOLEAN", FLAGS),
    ({"sent_at": "2025-01-10", "bounced": 2}, "bounced", "2", "BOOLEAN", FLAGS),
    ({"sent_at": "2025-01-10", "converted": {"value": 1}}, "converted", '{"value":1}', "BOOLEAN", FLAGS),
], ids=["time-words", "time-number", "hour-24", "replied_at", "flag-word", "flag-number", "flag-object"])
def test_a_value_the_fallback_cannot_read_names_file_line_and_key(project, metadata, key, shown, type_, forms):
    write_csv(project / "seeds" / "leads.csv", LEAD_COLUMNS, leads({**METADATA, 3: metadata}))  # lead 3: line 4
    assert_refused(project, f"seeds/leads.csv: line 4, column 'metadata', key '{key}': cannot read {shown!r} as {type_} "
                            f"— it takes {forms}")


def assert_refused(root, message: str) -> None:
    """A run of the published project stops with `message` (exit 2, one line) and publishes nothing."""
    before = (root / "out.duckdb").read_bytes()
    result = run(root)
    assert (result.returncode, result.stderr) == (2, f"Error: {message}; fix the value\n")
    assert (root / "out.duckdb").read_bytes() == before


def test_a_bad_value_in_a_glob_names_its_file(project):
    (project / "seeds" / "leads.csv").unlink()
    rows = leads({**METADATA, 7: {"sent_at": "2025-01-20", "replied": "oui"}})
    write_csv(project / "exports" / "leads-a.csv", LEAD_COLUMNS, rows[:4])
    write_csv(project / "exports" / "leads-b.csv", LEAD_COLUMNS, rows[4:])  # lead 7: its line 4
    config = yaml.safe_load((project / "project.yml").read_text())
    (project / "project.yml").write_text(yaml.safe_dump({**config, "sources": {"leads": {"path": "exports/leads-*.csv"}}}))
    result = run(project)
    assert (result.returncode, result.stderr) == (
        2, "Error: source 'leads' (exports/leads-*.csv): exports/leads-b.csv line 4, column 'metadata', key 'replied': "
           f"cannot read 'oui' as BOOLEAN — it takes {FLAGS}; fix the value\n")


def test_a_bad_value_in_a_database_table_names_the_row_id(project):
    (project / "seeds" / "leads.csv").unlink()
    with sqlite3.connect(project / "app.sqlite") as db:
        db.execute("CREATE TABLE leads (id INTEGER, workspace_id INTEGER, email TEXT, source TEXT, score REAL, country TEXT, "
                   "role TEXT, company_size TEXT, industry TEXT, tags TEXT, created_at TEXT, metadata JSON)")
        db.executemany("INSERT INTO leads (id, workspace_id, email, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
                       [(r["id"], 1, r["email"], r["created_at"], r["metadata"])
                        for r in leads({**METADATA, 4: {"sent_at": "soon"}})])
    db.close()
    config = yaml.safe_load((project / "project.yml").read_text())
    config.update(connections={"app": {"type": "sqlite", "path": "app.sqlite"}},
                  sources={"leads": {"connection": "app", "table": "leads"}})
    (project / "project.yml").write_text(yaml.safe_dump(config))
    result = run(project)
    assert (result.returncode, result.stderr) == (
        2, "Error: source 'leads' (app:leads): row with id 4, column 'metadata', key 'sent_at': "
           f"cannot read 'soon' as TIMESTAMP — it takes {TIMES}; fix the value\n")


def test_metadata_is_not_read_while_campaign_sources_exist_and_is_checked_once_they_go(tmp_path):
    """With campaign sources, metadata is the app's own business; removing them makes the
    next run read it, though the leads file did not change."""
    bad = leads({**METADATA, 2: {"sent_at": "2025-01-10", "opened": "maybe"}})  # lead 2: line 3
    sends = [{"id": 1, "campaign_id": 1, "lead_id": 1, "sent": True, "opened": True, "replied": False, "bounced": False}]
    root = make_project(tmp_path / "proj", leads=bad, segments=[{"id": 1, "name": "Everyone"}],
                        campaigns=[{"id": 1, "workspace_id": 1, "name": "Jan", "sent_at": "2025-01-10 09:00:00"}],
                        campaign_leads=sends)
    assert run(root).returncode == 0
    assert (top(root)["leads_sent"], top(root)["opened"]) == (1, 1)
    for name in ("campaigns.csv", "campaign_leads.csv"):
        (root / "seeds" / name).unlink()
    assert_refused(root, f"seeds/leads.csv: line 3, column 'metadata', key 'opened': cannot read 'maybe' as BOOLEAN "
                         f"— it takes {FLAGS}")


def test_metadata_that_is_no_json_stops_nothing_while_campaign_sources_exist(tmp_path):
    """SPEC §5: with campaign sources metadata is not read, so text that does not parse is
    kept as text; once the sends come from it, it must be JSON."""
    rows = leads(METADATA)
    rows[2]["metadata"] = '{"sent_at": "2025-01-12", "opened": "maybe"'  # lead 3 (line 4), unclosed
    sends = [{"id": 1, "campaign_id": 1, "lead_id": 1, "sent": True, "opened": True, "replied": False, "bounced": False}]
    root = make_project(tmp_path / "proj", leads=rows, segments=[{"id": 1, "name": "Everyone"}],
                        campaigns=[{"id": 1, "workspace_id": 1, "name": "Jan", "sent_at": "2025-01-10 09:00:00"}],
                        campaign_leads=sends)
    result = run(root)
    assert result.returncode == 0, result.stderr
    assert top(root)["leads_sent"] == 1
    for name in ("campaigns.csv", "campaign_leads.csv"):
        (root / "seeds" / name).unlink()
    refused = run(root)
    assert refused.returncode == 2
    assert refused.stderr.startswith("Error: seeds/leads.csv: line 4, column 'metadata': cannot read "
                                     "'{\"sent_at\": \"2025-01-12\", \"opened\": \"maybe\"' as JSON"), refused.stderr


def test_a_blank_clicked_or_converted_is_not_tracked_as_in_a_csv(tmp_path):
    """SPEC §4/§5: a send tracks clicks when its `clicked` is not null, and blank is unknown
    (null) in metadata as in a CSV column. Two of four sends say clicked (true, blank, null,
    spaces), so click_rate is 1/1, not 1/3; no send tracks conversions ('' and ' ' only),
    so conversion_rate is null, not 0."""
    metadata = {1: {"sent_at": "2025-01-10 09:00:00", "clicked": True, "converted": ""},
                2: {"sent_at": "2025-01-11 09:00:00", "clicked": "", "converted": " "},
                3: {"sent_at": "2025-01-12 09:00:00", "clicked": None},
                4: {"sent_at": "2025-01-13 09:00:00", "clicked": "  "}}
    root = make_project(tmp_path / "proj", leads=leads(metadata), segments=[{"id": 1, "name": "Everyone"}],
                        with_campaigns=False)
    assert run(root).returncode == 0
    clicks = top(root, "--metric", "click_rate")
    assert (clicks["leads_sent"], clicks["clicked"], clicks["click_rate"]) == (4, 1, 1.0)
    conversions = top(root, "--metric", "conversion_rate")
    assert (conversions["converted"], conversions["conversion_rate"]) == (0, None)


def test_naive_send_times_after_one_naming_a_zone_are_read_as_utc(tmp_path):
    """DuckDB 1.5.5's cast read the naive times after '… Europe/Paris' in Paris time."""
    metadata = {1: {"sent_at": "2025-01-10 10:00:00 Europe/Paris"},
                **{lead: {"sent_at": f"2025-01-{10 + lead} 10:00:00"} for lead in range(2, 8)}}
    root = make_project(tmp_path / "proj", leads=leads(metadata), segments=[{"id": 1, "name": "Everyone"}],
                        with_campaigns=False)
    assert run(root).returncode == 0
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        hours = con.execute("select hour::varchar, leads_sent from segment_performance_hourly order by hour").fetchall()
    assert hours == [("2025-01-10 09:00:00", 1)] + [(f"2025-01-{10 + lead} 10:00:00", 1) for lead in range(2, 8)]
