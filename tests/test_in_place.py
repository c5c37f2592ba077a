"""Parquet sources read in place: what the published file holds, and how
`segpipe test` reads the files it does not hold.

The seed project of tests/sources_dataset.py is the reference: the same rows
as Parquet must give the same drill-downs (which read published tables only),
and `segpipe test` reads the files through the views the run recorded in
segpipe_meta.file_views.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from tests.conftest import yaml_key_line
from tests.sources_dataset import (AS_OF, dataset, reference, run_project,  # noqa: F401
                                   write_project_yml, write_typed_files)

TABLES = ("workspaces", "leads", "campaigns", "campaign_leads")

DRILLDOWNS = [("campaigns", "1", "--days", "365", "--as-of", AS_OF), ("campaigns", "4", "--days", "365", "--as-of", AS_OF),
              ("leads", "1", "--limit", "50"), ("leads", "Hiring or funded", "--limit", "50")]


def parquet_project(reference, tmp_path, copy: bool = False):
    root = reference.copy_to(tmp_path / "parquet")
    write_typed_files(reference.root, root / "data", parts=3)
    sources = {name: {"path": f"data/{name}.parquet", "copy": copy} for name in TABLES}
    sources["campaign_leads"] = {"path": "data/campaign_leads/*.parquet", "copy": copy}
    write_project_yml(root, sources)
    return root


def drilldown(cli, root, args):
    result = cli(*args, "--project-dir", root, "--format", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    return json.loads(result.stdout)


def test_drilldowns_and_data_tests_read_the_files(cli, tmp_path, reference):
    root = parquet_project(reference, tmp_path)
    assert run_project(cli, root).exit_code == 0
    for args in DRILLDOWNS:
        expected = drilldown(cli, reference.root, args)
        assert expected.get("campaigns") or expected.get("leads")  # something to compare
        assert drilldown(cli, root, args) == expected
    result = cli("test", "--project-dir", root)
    assert result.exit_code == 0, result.stderr
    assert "sends_without_a_send_time" in result.stdout  # the staging views were recreated to test them


def test_a_file_changed_since_the_run_is_noted_by_test(cli, tmp_path, reference):
    """`segpipe test` reads the staging views over the files as they are now, and says so."""
    root = parquet_project(reference, tmp_path)
    assert run_project(cli, root).exit_code == 0
    extra = root / "data" / "campaign_leads" / "zz-late.parquet"
    shutil.copy(sorted((root / "data" / "campaign_leads").glob("*.parquet"))[0], extra)
    result = cli("test", "--project-dir", root)
    assert result.exit_code == 0
    assert ("note: source 'campaign_leads' (" + str(root / "data/campaign_leads/*.parquet")
            + ") changed since the published run; this reads it as it is now — "
            "run `segpipe run` to match `segpipe top`\n") in result.stdout


def test_gone_files_stop_only_segpipe_test(cli, tmp_path, reference):
    """The drill-downs read published tables, so they answer as before with the files gone;
    only `segpipe test`, which tests the staging views over them, needs the files."""
    root = parquet_project(reference, tmp_path)
    assert run_project(cli, root).exit_code == 0
    before = {args: drilldown(cli, root, args) for args in DRILLDOWNS}
    shutil.rmtree(root / "data")
    top = cli("top", "--project-dir", root, "--as-of", AS_OF, "--format", "json")
    assert top.exit_code == 0 and json.loads(top.stdout)["segments"]
    assert {args: drilldown(cli, root, args) for args in DRILLDOWNS} == before
    result = cli("test", "--project-dir", root)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: src.campaign_leads reads source files that are gone or changed (")
    assert result.stderr.endswith("— run `segpipe run`, or set `copy: true` on the source to keep a copy "
                                  "in the published file\n")
    assert result.stderr.count("\n") == 1


def test_switching_between_copy_and_in_place(cli, tmp_path, reference):
    """Each run replaces the other kind of relation; the published tables never change."""
    root = parquet_project(reference, tmp_path)
    published = []
    for copy in (False, True, False):
        sources = {name: {"path": f"data/{name}.parquet", "copy": copy} for name in TABLES}
        sources["campaign_leads"] = {"path": "data/campaign_leads/*.parquet", "copy": copy}
        write_project_yml(root, sources)
        result = run_project(cli, root)
        assert result.exit_code == 0, result.stderr
        with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
            kind = con.execute("SELECT table_type FROM information_schema.tables "
                               "WHERE table_schema = 'src' AND table_name = 'campaign_leads'").fetchall()
            published.append(con.execute("SELECT * FROM segment_performance_daily ORDER BY ALL").fetchall())
        assert kind == ([("BASE TABLE",)] if copy else [])
    assert published[0] == published[1] == published[2] and published[0]


def test_copy_must_be_a_boolean(cli, tmp_path, reference):
    root = parquet_project(reference, tmp_path)
    write_project_yml(root, {"leads": {"path": "data/leads.parquet", "copy": "yes"}})
    result = run_project(cli, root)
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {root / 'project.yml'}:{yaml_key_line(root / 'project.yml', 'sources.leads.copy')}: "
           "sources.leads: 'copy' must be true or false, got 'yes'\n")


@pytest.mark.parametrize("where", ["", "{% if true %}"])
def test_run_query_outside_an_incremental_build_is_an_error(cli, tmp_path, reference, where):
    root = reference.copy_to(tmp_path / "proj", seeds=True)
    (root / "models" / "probe.sql").write_text(where + "select {{ run_query('select 1')[0][0] }} as x"
                                               + ("{% endif %}" if where else "") + "\n")
    result = run_project(cli, root)
    assert result.exit_code == 2
    assert result.stderr == ("Error: models/probe.sql:1: run_query() needs the build database — "
                             "call it only inside {% if is_incremental() %}\n")


def test_a_new_file_without_an_optional_column_keeps_the_others_values(cli, tmp_path, reference):
    """A glob that only gained a file is an append; the view must still read every
    file's columns, not just the new file's (which lacks `clicked` here)."""
    from segpipe.published import connect_with_sources
    from segpipe.project import load_project

    root = parquet_project(reference, tmp_path)
    assert run_project(cli, root).exit_code == 0
    sends = root / "data" / "campaign_leads"
    with duckdb.connect() as con:
        clicked = con.execute(f"SELECT count(clicked) FROM read_parquet('{sends}/*.parquet')").fetchone()[0]
        con.execute(f"COPY (SELECT * EXCLUDE (clicked) FROM read_parquet('{sorted(sends.glob('*.parquet'))[0]}') LIMIT 5) "
                    f"TO '{sends}/zz-new.parquet' (FORMAT parquet)")
    result = run_project(cli, root)
    assert result.exit_code == 0, result.stderr
    assert "OK    source campaign_leads" in result.stdout and "appended" not in result.stdout  # a new view, not an append
    con = connect_with_sources(load_project(root))
    try:
        assert clicked > 0
        assert con.execute("SELECT count(clicked) FROM src.campaign_leads").fetchone()[0] == clicked
    finally:
        con.close()


@pytest.mark.parametrize("selection", ["segments", "segment_performance_daily"])
def test_a_selected_run_after_a_file_arrived_keeps_the_staging_views(cli, tmp_path, reference, selection):
    """The new file reloads the sends' view; stg_sends, not selected, must still be
    recreated over it, for the selected models, the data tests and the next run."""
    root = parquet_project(reference, tmp_path)
    assert run_project(cli, root).exit_code == 0
    extra = root / "data" / "campaign_leads" / "zz-late.parquet"
    shutil.copy(sorted((root / "data" / "campaign_leads").glob("*.parquet"))[0], extra)
    result = cli("run", "--project-dir", root, "--as-of", AS_OF, "--select", selection)
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    stored = {name for (name,) in con.execute("select view_name from segpipe_meta.file_views").fetchall()}
    con.close()
    assert {"campaign_leads", "stg_sends", "stg_leads"} <= stored
    assert cli("test", "--project-dir", root).exit_code == 0
