"""Sources from files and globs (CSV, Parquet), SQLite and DuckDB databases, and
the contract checks every source passes before anything is built.

Each store holds the generated dataset of tests/sources_dataset.py the way an
app or a warehouse export keeps it; `segpipe run` over it must publish the
same tables as the seed CSVs, and the published file must not need the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
import sys

import duckdb
import pytest
import yaml

from segpipe.errors import ConfigError
from segpipe.project import load_project
from segpipe.source_types import convert
from tests.conftest import LEAD_COLUMNS, REPO, SEND_COLUMNS, make_project, run_segpipe, write_csv, yaml_key_line
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.sources_dataset import (BOOLEAN_WORDS, assert_fails, dataset, published_tables,  # noqa: F401
                                   reference, run_project, segment_rows, source_tables,
                                   up_to_float_summation, write_project_yml, write_sqlite, write_typed_files)

TABLES = ("workspaces", "leads", "campaigns", "campaign_leads")


def assert_same_as_reference(cli, root, reference, remove=()):
    """Run, compare with the seed project, then delete the store and read the published file again."""
    result = run_project(cli, root)
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    assert source_tables(root / "out.duckdb") == reference.sources
    for path in remove:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert_self_contained(root / "out.duckdb")
    assert published_tables(root / "out.duckdb") == up_to_float_summation(reference.published)


def assert_self_contained(db):
    """Every table and view of the published file reads with nothing attached or loadable."""
    con = duckdb.connect(str(db), read_only=True, config={"autoload_known_extensions": False,
                                                          "autoinstall_known_extensions": False})
    try:
        relations = con.execute("SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
                                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        assert len(relations) > 8
        for schema, name in relations:
            con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()
    finally:
        con.close()


# -- the same answers from every kind of store ---------------------------------------------
@pytest.mark.parametrize("copy", [False, True], ids=["read-in-place", "copied"])
def test_parquet_globs_publish_the_same_tables(cli, tmp_path, reference, copy):
    root = reference.copy_to(tmp_path / "parquet")
    write_typed_files(reference.root, root / "data", parts=4)
    sources = {name: {"path": f"data/{name}.parquet", "copy": copy} for name in TABLES}
    sources["campaign_leads"] = {"path": "data/campaign_leads/*.parquet", "copy": copy}
    write_project_yml(root, sources)
    assert_same_as_reference(cli, root, reference, remove=[root / "data"])
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'src'").fetchall())
    con.close()
    # read in place: the published file keeps no copy of the sources (only the segments it was built with)
    assert kinds == ({**{name: "BASE TABLE" for name in TABLES}, "segments": "BASE TABLE"} if copy else {"segments": "BASE TABLE"})


def test_duckdb_file_publishes_the_same_tables(cli, tmp_path, reference):
    root = reference.copy_to(tmp_path / "duckdb")
    write_typed_files(reference.root, root / "data")
    write_project_yml(root, {name: {"connection": "warehouse"} for name in TABLES},
                      connections={"warehouse": {"type": "duckdb", "path": "data/app.duckdb"}})
    assert_same_as_reference(cli, root, reference, remove=[root / "data"])


@pytest.mark.parametrize("name", ["app", "src", "main", "out"])  # also the build's own schema and catalog names
def test_sqlite_publishes_the_same_tables(cli, tmp_path, reference, dataset, name):
    root = reference.copy_to(tmp_path / "sqlite")
    write_sqlite(root / "app.sqlite", dataset)
    write_project_yml(root, {table: {"connection": name, "table": table} for table in TABLES},
                      segments={"connection": name, "table": "segments"},
                      connections={name: {"type": "sqlite", "path": "app.sqlite"}})
    assert_same_as_reference(cli, root, reference, remove=[root / "app.sqlite"])


def _zoned(rows, columns):
    """Rows as another app exports CSV: timestamps with their offsets, booleans as assorted words."""
    out = []
    for row in rows:
        pair = BOOLEAN_WORDS[row["id"] % len(BOOLEAN_WORDS)]
        out.append({c: row[c].isoformat() if isinstance(row[c], dt.datetime)
                    else (pair[0] if row[c] else pair[1]) if isinstance(row[c], bool)
                    else row[c] for c in columns})
    return out


def test_csv_globs_with_zoned_timestamps_and_column_types(cli, tmp_path, reference, dataset):
    root = reference.copy_to(tmp_path / "csv", seeds=True)
    for part in range(3):
        sends = [s for s in dataset.campaign_leads if s["id"] % 3 == part]
        write_csv(root / "exports" / f"sends-{part}.csv", [*SEND_COLUMNS, "priority"],
                  [{**row, "priority": row["id"] % 5} for row in _zoned(sends, SEND_COLUMNS)])
    leads = [{**row, "metadata": row["metadata"] and json.dumps(row["metadata"])}
             for row in _zoned(dataset.leads, LEAD_COLUMNS)]
    write_csv(root / "exports" / "leads.csv", LEAD_COLUMNS, leads)
    for name in ("leads", "campaign_leads"):
        (root / "seeds" / f"{name}.csv").unlink()
    write_project_yml(root, {"leads": {"path": "exports/leads.csv"},
                             "campaign_leads": {"path": "exports/sends-*.csv", "column_types": {"priority": "INTEGER"}}})
    assert_same_as_reference(cli, root, reference)
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT any_value(typeof(priority)), sum(priority) FROM src.campaign_leads").fetchone() == (
            "INTEGER", sum(s["id"] % 5 for s in dataset.campaign_leads))


def split_sends(root, dataset, parts: int = 3) -> list:
    """campaign_leads as exports/sends-<part>.csv; returns each part's rows."""
    split = [[s for s in dataset.campaign_leads if s["id"] % parts == part] for part in range(parts)]
    for part, sends in enumerate(split):
        write_csv(root / "exports" / f"sends-{part}.csv", SEND_COLUMNS, _zoned(sends, SEND_COLUMNS))
    (root / "seeds" / "campaign_leads.csv").unlink()
    write_project_yml(root, {"campaign_leads": {"path": "exports/sends-*.csv"}})
    return split


def test_a_project_folder_with_glob_characters_in_its_name(cli, tmp_path, reference, dataset):
    """`Sales [EU]` is a folder name, not a character class, for seeds and source globs alike."""
    root = reference.copy_to(tmp_path / "Sales [EU]", seeds=True)
    split_sends(root, dataset)
    assert_same_as_reference(cli, root, reference)


def test_a_file_arriving_during_a_run_waits_for_the_next(cli, tmp_path, reference, dataset, monkeypatch):
    """The files fingerprinted are the files loaded: one landing mid-run is appended by
    the next run, once, not loaded now and then again."""
    import segpipe.changes

    root = reference.copy_to(tmp_path / "arriving", seeds=True)
    split = split_sends(root, dataset)
    late = root / "exports" / "sends-2.csv"
    held_back = late.read_bytes()
    late.unlink()
    detect = segpipe.changes.Changes.detect

    def detect_then_a_file_lands(plan, previous):
        changes = detect(plan, previous)
        late.write_bytes(held_back)
        return changes

    monkeypatch.setattr(segpipe.changes.Changes, "detect", staticmethod(detect_then_a_file_lands))
    assert run_project(cli, root).exit_code == 0
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM src.campaign_leads").fetchone() == (len(split[0]) + len(split[1]),)
    monkeypatch.undo()
    assert re.search(r"appended 1 new file$", run_project(cli, root).stdout, re.M)  # not "file(s)"
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM src.campaign_leads").fetchone() == (
            len(dataset.campaign_leads),) * 2
    assert source_tables(root / "out.duckdb")["campaign_leads"] == reference.sources["campaign_leads"]


def test_segments_from_a_csv_file(cli, tmp_path, reference, dataset):
    root = reference.copy_to(tmp_path / "segments_csv", seeds=True)
    write_csv(root / "data" / "segments.csv", ["id", "workspace_id", "name", "description", "filters"],
              [dict(zip(["id", "workspace_id", "name", "description", "filters"], row)) for row in segment_rows(dataset)])
    (root / "seeds" / "segments.yml").unlink()
    write_project_yml(root, {}, segments={"path": "data/segments.csv"})
    assert_same_as_reference(cli, root, reference)


def test_the_readme_files_example_is_a_valid_project(tmp_path):
    section = (REPO / "README.md").read_text().split("### Files, globs, SQLite and DuckDB", 1)[1]
    (tmp_path / "project.yml").write_text(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))
    project = load_project(tmp_path)
    assert {name: (s.kind, s.location) for name, s in project.sources.items()} == {
        "leads": ("database", "crm:leads"), "campaigns": ("database", "warehouse:main.campaigns"),
        "campaign_leads": ("file", str(tmp_path / "exports/campaign_leads/*.parquet")),
        "workspaces": ("file", str(tmp_path / "exports/workspaces-*.csv"))}
    assert project.sources["workspaces"].column_types == {"seats": "INTEGER"}
    assert project.segments.kind == "file"


def test_any_other_table_a_model_uses(cli, tmp_path, reference):
    root = reference.copy_to(tmp_path / "extra", seeds=True)
    with sqlite3.connect(root / "app.sqlite") as db:
        db.execute("CREATE TABLE regions (country TEXT, region TEXT, population INTEGER)")
        db.executemany("INSERT INTO regions VALUES (?, ?, ?)", [("US", "Americas", 335), ("DE", "EMEA", 84)])
    db.close()
    (root / "models" / "lead_regions.sql").write_text(
        "select l.id as lead_id, r.region from {{ source('leads') }} as l\n"
        "join {{ source('regions') }} as r on upper(trim(l.country)) = r.country\n")
    write_project_yml(root, {"regions": {"connection": "app", "table": "regions",
                                         "column_types": {"population": "INTEGER"}}},
                      connections={"app": {"type": "sqlite", "path": "app.sqlite"}})
    assert run_project(cli, root).exit_code == 0
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT typeof(population), population FROM src.regions ORDER BY 2").fetchall() == [
            ("INTEGER", 84), ("INTEGER", 335)]
        assert con.execute("SELECT count(DISTINCT region) FROM lead_regions").fetchone() == (2,)


# -- contract checks and failures: exit code, one exact line, the published file untouched -----
@pytest.fixture
def published(cli, tmp_path, reference, dataset):
    """A copy of the seed project that also has app.sqlite, published once."""
    root = reference.copy_to(tmp_path / "app", seeds=True)
    write_sqlite(root / "app.sqlite", dataset)
    assert run_project(cli, root).exit_code == 0
    return root


def sqlite_sources(root, table="campaign_leads", segments=None):
    write_project_yml(root, {"campaign_leads": {"connection": "app", "table": table}}, segments=segments,
                      connections={"app": {"type": "sqlite", "path": "app.sqlite"}})


def test_missing_required_column_names_source_and_column(cli, published):
    write_csv(published / "exports" / "campaigns.csv", ["id", "workspace_id", "segment_id", "sent_at"], [])
    write_project_yml(published, {"campaigns": {"path": "exports/campaigns.csv"}})
    assert_fails(cli, published, "source 'campaigns' (exports/campaigns.csv): missing required column 'name' "
                                 "— a campaigns source needs columns id, workspace_id, name, sent_at")


def test_missing_optional_columns_load_as_null(cli, tmp_path, reference, dataset):
    root = reference.copy_to(tmp_path / "basic", seeds=True)
    write_sqlite(root / "app.sqlite", dataset)
    with sqlite3.connect(root / "app.sqlite") as db:
        db.execute("CREATE TABLE basic_sends AS SELECT id, campaign_id, lead_id, sent, opened, replied, bounced "
                   "FROM campaign_leads")
    db.close()
    sqlite_sources(root, table="basic_sends")
    assert run_project(cli, root).exit_code == 0
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(clicked), count(sent_at), count(variant) "
                           "FROM src.campaign_leads").fetchone() == (len(dataset.campaign_leads), 0, 0, 0)
        assert con.execute("SELECT sum(leads_sent) > 0, sum(clicked), sum(converted) "
                           "FROM segment_performance").fetchone() == (True, 0, 0)


def test_no_file_matches_the_glob(cli, published):
    write_project_yml(published, {"campaign_leads": {"path": "exports/*.parquet"}})
    assert_fails(cli, published, "source 'campaign_leads': no file matches exports/*.parquet — check 'path' in project.yml")


def test_bad_boolean_in_a_csv_glob_names_file_and_line(cli, published, dataset):
    for part in range(2):
        rows = [dict(s) for s in dataset.campaign_leads if s["id"] % 2 == part]
        if part == 1:
            rows[3]["opened"] = "maybe"
        write_csv(published / "exports" / f"sends-{part}.csv", SEND_COLUMNS, _zoned(rows, SEND_COLUMNS))
    write_project_yml(published, {"campaign_leads": {"path": "exports/sends-*.csv"}})
    assert_fails(cli, published, "source 'campaign_leads' (exports/sends-*.csv): exports/sends-1.csv line 5, "
                                 "column 'opened': cannot read 'maybe' as BOOLEAN — it takes true/false, t/f, yes/no, y/n or 1/0; "
                                 "fix the value")


def test_integer_boolean_other_than_0_or_1_is_an_error(cli, published):
    with sqlite3.connect(published / "app.sqlite") as db:
        db.execute("UPDATE campaign_leads SET sent = 2 WHERE id = 7")
    db.close()
    sqlite_sources(published)
    assert_fails(cli, published, "source 'campaign_leads' (app:campaign_leads): row with id 7, column 'sent': "
                                 "cannot read '2' as BOOLEAN — it takes true/false, t/f, yes/no, y/n or 1/0; fix the value")



def test_fractional_boolean_other_than_0_or_1_is_an_error(cli, published, dataset):
    """pandas writes a flag column with gaps as doubles: 1.0/0.0 are flags, 2.5 is no flag
    (DuckDB's own cast would read it as true, a send that was never sent)."""
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute("CREATE TABLE campaign_leads (id BIGINT, campaign_id BIGINT, lead_id BIGINT, sent DOUBLE, "
                    "opened DECIMAL(3, 1), replied BOOLEAN, bounced BOOLEAN)")
        con.executemany("INSERT INTO campaign_leads VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(s["id"], s["campaign_id"], s["lead_id"], float(s["sent"]), float(s["opened"]),
                          s["replied"], s["bounced"]) for s in dataset.campaign_leads])
    write_project_yml(published, {"campaign_leads": {"connection": "wh", "table": "campaign_leads"}},
                      connections={"wh": {"type": "duckdb", "path": "app.duckdb"}})
    assert run_project(cli, published).exit_code == 0
    with duckdb.connect(str(published / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FILTER (sent), count(*) FILTER (opened) FROM src.campaign_leads").fetchone() == (
            sum(s["sent"] for s in dataset.campaign_leads), sum(s["opened"] for s in dataset.campaign_leads))
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute("UPDATE campaign_leads SET sent = 2.5 WHERE id = 7")
    assert_fails(cli, published, "source 'campaign_leads' (wh:campaign_leads): row with id 7, column 'sent': "
                                 "cannot read '2.5' as BOOLEAN — it takes true/false, t/f, yes/no, y/n or 1/0; fix the value")


def test_missing_sqlite_file(cli, published):
    (published / "app.sqlite").unlink()
    sqlite_sources(published)
    assert_fails(cli, published, f"connection 'app': no sqlite database file at {published / 'app.sqlite'} "
                                 f"— check 'path' under connections.app")



def test_a_duckdb_connection_to_a_sqlite_file_says_so(cli, published):
    """DuckDB would open it with its SQLite scanner, uncast: ids read as b'1', named as a bad value."""
    write_project_yml(published, {"campaign_leads": {"connection": "wh", "table": "campaign_leads"}},
                      connections={"wh": {"type": "duckdb", "path": "app.sqlite"}})
    assert_fails(cli, published, f"connection 'wh': cannot open {published / 'app.sqlite'}: IO Error: The file "
                                 f"\"{published / 'app.sqlite'}\" exists, but it is not a valid DuckDB database file!")


def test_missing_sqlite_extension_names_the_extra(cli, published, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb_extension_sqlite_scanner", None)  # as if not installed
    sqlite_sources(published)
    assert_fails(cli, published, "the sqlite source needs the DuckDB SQLite scanner: pip install 'segpipe[sqlite]'")


def test_unknown_connection(cli, published):
    write_project_yml(published, {"leads": {"connection": "ap", "table": "leads"}},
                      connections={"app": {"type": "sqlite", "path": "app.sqlite"}})
    assert_fails(cli, published, f"{published / 'project.yml'}:"
                                 f"{yaml_key_line(published / 'project.yml', 'sources.leads')}: sources.leads: unknown connection 'ap' "
                                 f"— declare it under 'connections'")


def test_malformed_filters_in_a_sqlite_segments_table(cli, published):
    with sqlite3.connect(published / "app.sqlite") as db:
        db.execute("""UPDATE segments SET filters = '{countries: [US]}' WHERE id = 2""")
    db.close()
    sqlite_sources(published, segments={"connection": "app", "table": "segments"})
    assert_fails(cli, published, "source 'segments' (app:segments): segment 2: 'filters' is not valid JSON "
                                 "(Expecting property name enclosed in double quotes at char 1) — store a JSON "
                                 "object such as {\"countries\": [\"US\"]}")


def test_segment_id_that_is_not_a_number(cli, published):
    write_csv(published / "data" / "segments.csv", ["id", "name", "filters"],
              [{"id": "1", "name": "All", "filters": "{}"}, {"id": "two", "name": "Two", "filters": ""}])
    write_project_yml(published, {}, segments={"path": "data/segments.csv"})
    assert_fails(cli, published, "source 'segments' (data/segments.csv): line 3, column 'id': cannot read 'two' as "
                                 "BIGINT — it takes a whole number such as 42; fix the value")


@pytest.mark.parametrize("spec,message", [
    ({"type": "postgres", "env": "postgresql://app:s3cret@db/app"},
     "'env' must be the name of the environment variable holding the connection string, such as "
     "APP_DATABASE_URL — never the connection string or password itself"),
    ({"type": "postgres"}, "'env' must be the name of the environment variable holding the connection string, "
                           "such as APP_DATABASE_URL — never the connection string or password itself"),
    ({"type": "postgres", "env": "APP_DB", "path": "x"}, "unknown key 'path' (valid keys: env, type)"),
    ({"type": "mysql", "env": "APP_DB"}, "'type' must be one of duckdb, postgres, sqlite"),
    ({"type": "sqlite"}, "a sqlite connection needs 'path', the database file"),
    ({"type": "duckdb", "path": "x.duckdb", "env": "X"}, "unknown key 'env' (valid keys: path, type)"),
])
def test_connection_config_errors(tmp_path, spec, message):
    (tmp_path / "project.yml").write_text(yaml.safe_dump({"connections": {"app": spec}}))
    with pytest.raises(ConfigError) as error:
        load_project(tmp_path)
    named = message.split("'")[1] if message.count("'") >= 2 else None  # the key the message is about, if set
    at = yaml_key_line(tmp_path / "project.yml", f"connections.app.{named}" if named in spec else "connections.app")
    assert str(error.value) == f"{tmp_path / 'project.yml'}:{at}: connections.app: {message}"


# -- conversions, one by one ----------------------------------------------------------------
def converted(values: list, raw_type: str, target: str) -> list:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE t (n INTEGER, v {raw_type})")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return [row[0] for row in con.execute(f"SELECT {convert('v', raw_type, target)} FROM t ORDER BY n").fetchall()]


def test_boolean_words():
    words = ["true", "t", "1", "yes", "y", " YES ", "True", "false", "f", "0", "no", "n", " No", "", None]
    assert converted(words, "VARCHAR", "BOOLEAN") == [True] * 7 + [False] * 6 + [None, None]
    assert converted([1, 0, None], "BIGINT", "BOOLEAN") == [True, False, None]
    assert converted([True, None], "BOOLEAN", "BOOLEAN") == [True, None]
    assert converted([1.0, 0.0, None], "DOUBLE", "BOOLEAN") == [True, False, None]
    assert converted([1, 0], "DECIMAL(3, 1)", "BOOLEAN") == [True, False]
    for bad, raw_type in (("maybe", "VARCHAR"), (2, "INTEGER"), (-1, "BIGINT"), (2.5, "DOUBLE"), (2, "DECIMAL(3, 1)")):
        with pytest.raises(duckdb.Error, match="not a boolean"):
            converted([bad], raw_type, "BOOLEAN")


def test_timestamps_with_or_without_zone_become_utc():
    texts = ["2026-01-01T01:30:00+02:00", "2026-01-01 01:30:00+0200", "2025-12-31T23:30:00Z",
             "2025-12-31 23:30:00", "2025-12-31 18:30:00-05", " 2025-12-31 23:30:00.000 ", "", None]
    expected = dt.datetime(2025, 12, 31, 23, 30)
    assert converted(texts, "VARCHAR", "TIMESTAMP") == [expected] * 6 + [None, None]
    assert converted(["2026-01-01 05:00:00+05:30"], "TIMESTAMPTZ", "TIMESTAMP") == [expected]
    assert converted([expected], "TIMESTAMP", "TIMESTAMP") == [expected]


def test_tags_become_a_list_of_trimmed_tags():
    texts = ["a; B ;;c", '["x", " y ", ""]', "solo", " ", "", None]
    assert converted(texts, "VARCHAR", "VARCHAR[]") == [["a", "B", "c"], ["x", "y"], ["solo"], [], [], []]
    assert converted([[" a", "", None], None], "VARCHAR[]", "VARCHAR[]") == [["a"], []]


@pytest.mark.parametrize("copy", [False, True], ids=["read-in-place", "copied"])
def test_a_fraction_in_a_parquet_integer_column_is_an_error_not_rounded(tmp_path, copy):
    """Parquet writers store ids as doubles (pandas, for a column with gaps): 1.0 is id 1, 1.6 no id."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        project={"sources": {"leads": {"path": "data/leads.parquet", "copy": copy}}})
    (root / "data").mkdir()
    parquet = root / "data" / "leads.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * REPLACE (CAST(workspace_id AS DOUBLE) AS workspace_id) "
                    f"FROM read_csv('{root / 'seeds' / 'leads.csv'}')) TO '{parquet}'")
    result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT lead_id, workspace_id FROM leads ORDER BY lead_id").fetchall() == [
            (lead["id"], lead["workspace_id"]) for lead in sorted(LEADS, key=lambda lead: lead["id"])]
    before = hashlib.sha256((root / "out.duckdb").read_bytes()).hexdigest()
    with duckdb.connect() as con:  # the third row's workspace_id becomes 1.6
        con.execute(f"COPY (SELECT * REPLACE (CASE WHEN id = {LEADS[2]['id']} THEN 1.6 ELSE workspace_id END "
                    f"AS workspace_id) FROM '{parquet}') TO '{parquet}.new' (FORMAT parquet)")
    (root / "data" / "leads.parquet.new").replace(parquet)
    result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert (result.returncode, result.stderr) == (
        2, "Error: source 'leads' (data/leads.parquet): row 3, column 'workspace_id': cannot read '1.6' as BIGINT — it "
           "takes a whole number such as 42; fix the value\n")
    assert hashlib.sha256((root / "out.duckdb").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("column_type", ["TIMESTAMP", "TIMESTAMPTZ", "DATE"])
def test_an_infinite_time_in_a_database_table_is_a_bad_value(cli, published, dataset, column_type):
    """PostgreSQL (and DuckDB) store 'infinity' in a time column: a send at infinity would drop out
    of every figure without a word, and -infinity publish a day -infinity. It is refused as the
    text 'infinity' is in a CSV, naming the row."""
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute(f"CREATE OR REPLACE TABLE campaigns (id BIGINT, workspace_id BIGINT, name VARCHAR, "
                    f"segment_id BIGINT, sent_at {column_type})")
        con.executemany("INSERT INTO campaigns VALUES (?, ?, ?, ?, ?)",
                        [(c["id"], c["workspace_id"], c["name"], c.get("segment_id"), c["sent_at"])
                         for c in dataset.campaigns])
    write_project_yml(published, {"campaigns": {"connection": "wh", "table": "campaigns"}},
                      connections={"wh": {"type": "duckdb", "path": "app.duckdb"}})
    assert run_project(cli, published).exit_code == 0
    first = dataset.campaigns[0]["id"]
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute(f"UPDATE campaigns SET sent_at = '-infinity' WHERE id = {first}")
    assert_fails(cli, published, f"source 'campaigns' (wh:campaigns): row with id {first}, column 'sent_at': "
                                 "cannot read '-infinity' as TIMESTAMP — it takes a date or time such as 2025-01-31, "
                                 "2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset "
                                 "needs the seconds); fix the value")


@pytest.mark.parametrize("table, column", [("leads", "country"), ("leads", "tags"), ("campaign_leads", "variant")])
def test_a_nul_character_in_a_database_tables_text_is_refused_naming_the_row(cli, published, dataset, table, column):
    """SPEC §8: NUL bytes are a one-line error, from a database as from a CSV: SQLite's length()
    and most tools stop at the NUL, so 'US' + NUL + 'x' looked like US and silently left its
    lead out of every country filter."""
    rows = {"leads": dataset.leads, "campaign_leads": dataset.campaign_leads}[table]
    first = rows[0]["id"]
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv('{published / 'seeds' / table}.csv', "
                    "all_varchar = true)")
        con.execute(f"UPDATE {table} SET {column} = 'US' || chr(0) || 'x' WHERE CAST(id AS BIGINT) = {first}")
    write_project_yml(published, {table: {"connection": "wh", "table": table}},
                      connections={"wh": {"type": "duckdb", "path": "app.duckdb"}})
    assert_fails(cli, published, f"source '{table}' (wh:{table}): row with id {first}, column '{column}': cannot read "
                                 "'US\\x00x' — a NUL character (\\x00) is no text; remove it (a file full of them is "
                                 "UTF-16: save it as UTF-8)")


def test_a_sqlite_blob_is_ignored_as_an_extra_column_and_bad_text_names_its_row(cli, published, dataset):
    """SQLite stores any bytes, and segpipe reads its columns as text: a BLOB column beside the
    contract's (an avatar, a binary UUID) stopped the run with DuckDB's 'Invalid unicode … in
    segment statistics update' (SPEC §2: extra columns are ignored); Latin-1 bytes in a column
    segpipe reads now name the row and the column."""
    first, second = dataset.leads[0]["id"], dataset.leads[1]["id"]
    with sqlite3.connect(published / "app.sqlite") as db:
        db.execute("ALTER TABLE leads ADD COLUMN avatar BLOB")
        db.execute("UPDATE leads SET avatar = ? WHERE id = ?", (b"\xff\xfe\x00\x01", first))
        db.execute("UPDATE leads SET avatar = ? WHERE id = ?", (b"png", second))
    write_project_yml(published, {"leads": {"connection": "app", "table": "leads"}},
                      connections={"app": {"type": "sqlite", "path": "app.sqlite"}})
    assert run_project(cli, published).exit_code == 0
    with duckdb.connect(str(published / "out.duckdb"), read_only=True) as con:
        assert dict(con.execute("SELECT id, avatar FROM src.leads WHERE avatar IS NOT NULL").fetchall()) == {
            second: "png"}
    with sqlite3.connect(published / "app.sqlite") as db:
        db.execute("UPDATE leads SET country = CAST(x'4445ff' AS TEXT) WHERE id = ?", (second,))
    assert_fails(cli, published, f"source 'leads' (app:leads): row with id {second}, column 'country': the text is "
                                 "not UTF-8 (Latin-1 or Windows-1252?) — store it as UTF-8")


def test_a_nul_character_in_a_row_without_an_id_says_so(cli, published, dataset):
    """The row is named by its id; one whose id is NULL said 'row with id None'."""
    with duckdb.connect(str(published / "app.duckdb")) as con:
        con.execute(f"CREATE OR REPLACE TABLE leads AS SELECT * FROM read_csv('{published / 'seeds' / 'leads'}.csv', "
                    "all_varchar = true)")
        con.execute(f"UPDATE leads SET id = NULL, country = 'US' || chr(0) || 'x' WHERE CAST(id AS BIGINT) = "
                    f"{dataset.leads[0]['id']}")
    write_project_yml(published, {"leads": {"connection": "wh", "table": "leads"}},
                      connections={"wh": {"type": "duckdb", "path": "app.duckdb"}})
    assert_fails(cli, published, "source 'leads' (wh:leads): a row without an id, column 'country': cannot read "
                                 "'US\\x00x' — a NUL character (\\x00) is no text; remove it (a file full of them is "
                                 "UTF-16: save it as UTF-8)")
