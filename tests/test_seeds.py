"""Seeds are read as text and cast to declared types; bad values name file, line and column."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.conftest import make_project
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)


def run(cli, root):
    return cli("run", "--project-dir", root, "--as-of", "2025-01-31")


def test_extra_seed_keeps_text_unless_typed(root, cli):
    (root / "seeds" / "zip_codes.csv").write_text("code,day,population\n00123,SAT,1000\n10001,Sun,2500\n")
    config = (root / "project.yml").read_text()
    (root / "project.yml").write_text(config + "seeds:\n  column_types:\n    zip_codes: {population: BIGINT}\n")
    result = run(cli, root)
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert con.execute("select * from seeds.zip_codes order by code").fetchall() == [("00123", "SAT", 1000), ("10001", "Sun", 2500)]
    types = con.execute("select data_type from duckdb_columns() where table_name = 'zip_codes' order by column_index").fetchall()
    assert types == [("VARCHAR",), ("VARCHAR",), ("BIGINT",)]


def test_source_columns_get_contract_types_and_utc(root, cli):
    sends = root / "seeds" / "campaign_leads.csv"
    lines = sends.read_text().splitlines()
    # row 1: yes/no booleans and a timestamp with a +02:00 offset
    lines[1] = "1,10,1,yes,Y,no,0,,,2025-01-10 11:00:00+02:00,,"
    sends.write_text("\n".join(lines) + "\n")
    assert run(cli, root).exit_code == 0
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    row = con.execute("select sent, opened, replied, bounced, sent_at from src.campaign_leads where id = 1").fetchone()
    assert row == (True, True, False, False, dt.datetime(2025, 1, 10, 9, 0))
    assert con.execute("select tags from src.leads where id = 6").fetchone()[0] == ["webinar", "funding"]


def test_failed_cast_names_file_line_and_column(root, cli):
    leads = root / "seeds" / "leads.csv"
    lines = leads.read_text().splitlines()
    lines[3] = lines[3].replace(",90,", ",ninety,")
    leads.write_text("\n".join(lines) + "\n")
    result = run(cli, root)
    assert result.exit_code == 2
    assert result.stderr == ("Error: seeds/leads.csv: line 4, column 'score': cannot read 'ninety' as DOUBLE "
                             "— it takes a number such as 72.5; fix the value\n")


def test_bad_boolean_names_line_and_column(root, cli):
    sends = root / "seeds" / "campaign_leads.csv"
    lines = sends.read_text().splitlines()
    lines[2] = lines[2].replace(",true,", ",maybe,", 1)
    sends.write_text("\n".join(lines) + "\n")
    result = run(cli, root)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: seeds/campaign_leads.csv: line 3, column 'sent': cannot read 'maybe' as BOOLEAN")


def test_malformed_csv_is_one_line_naming_the_file(root, cli):
    (root / "seeds" / "workspaces.csv").write_text('id,name\n1,"unterminated\n2,b,c,d\n')
    result = run(cli, root)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: seeds/workspaces.csv: ")
    assert result.stderr.count("\n") == 1


def test_missing_required_column(root, cli):
    leads = root / "seeds" / "leads.csv"
    text = leads.read_text().replace("workspace_id,", "workspace,", 1)
    leads.write_text(text)
    result = run(cli, root)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: seeds/leads.csv: missing required column 'workspace_id'")


def test_a_bad_value_deep_in_a_large_file_names_its_line(root, cli):
    """DuckDB reads a large CSV with several threads; the line named must still be the file's."""
    sends = root / "seeds" / "campaign_leads.csv"
    bad_line = 400_001  # the header is line 1
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT i AS id, 10 AS campaign_id, 1 AS lead_id,
                           CASE WHEN i = {bad_line - 1} THEN 'maybe' ELSE 'true' END AS sent,
                           'false' AS opened, 'false' AS replied, 'false' AS bounced, '' AS clicked,
                           '' AS converted, '2025-01-10 09:00:00' AS sent_at, '' AS replied_at, '' AS variant
                    FROM range(1, 500_001) AS t(i)) TO '{sends}' (HEADER)""")
    con.close()
    result = run(cli, root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: seeds/campaign_leads.csv: line {bad_line}, column 'sent': cannot read 'maybe'")
