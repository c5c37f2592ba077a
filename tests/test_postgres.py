"""Sources and segments from a real PostgreSQL 15 server (tests/pg_server.py).

The app's tables hold a generated dataset the way an app stores it
(timestamptz written in non-UTC offsets, native booleans, yes/no words in
text columns, text[] tags, jsonb); `segpipe run` over them must publish the
same tables as the seed CSVs holding the same rows.
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from segpipe.connections import attach, postgres_target
from segpipe.project import Connection, load_project
from segpipe.source_types import CONTRACT
from segpipe.sources import Loader
from tests.conftest import REPO
from tests.pg_server import PostgresServer, ServerUnavailable, pg_execute, pg_query
from tests.sources_dataset import (assert_fails, dataset, pg_sql, published_tables, reference,  # noqa: F401
                                   run_project, source_tables, up_to_float_summation, write_project_yml)

TABLES = ("workspaces", "leads", "campaigns", "campaign_leads")


@pytest.fixture(scope="module")
def app_db(postgres_dsn, dataset):
    """Schema `app` of the test server, holding the dataset."""
    pg_execute(postgres_dsn, pg_sql(dataset, "app"))
    return postgres_dsn


def point_at_postgres(root, schema="app", segments_table="segments", **tables):
    """Every contract table and the segments (unless segments_table=None: segments.yml)
    from tables of `schema`; `tables` names other tables for some sources."""
    sources = {name: {"connection": "app", "table": tables.get(name, f"{schema}.{name}")} for name in TABLES}
    segments = {"connection": "app", "table": f"{schema}.{segments_table}"} if segments_table else None
    write_project_yml(root, sources, segments=segments,
                      connections={"app": {"type": "postgres", "env": "APP_DATABASE_URL"}})


def test_postgres_publishes_the_same_tables_as_the_seed_csvs(cli, tmp_path, monkeypatch, postgres_dsn,
                                                             dataset, reference):
    pg_execute(postgres_dsn, pg_sql(dataset, "app_same"))
    root = reference.copy_to(tmp_path / "pg", seeds=False)
    point_at_postgres(root, schema="app_same")
    monkeypatch.setenv("APP_DATABASE_URL", postgres_dsn)

    result = run_project(cli, root)

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    pg_execute(postgres_dsn, "DROP SCHEMA app_same CASCADE")  # the published file must not need it
    assert published_tables(root / "out.duckdb") == up_to_float_summation(reference.published)
    assert source_tables(root / "out.duckdb") == reference.sources


def test_postgres_types_become_the_contract_types(tmp_path, monkeypatch, postgres_dsn):
    """Booleans as native values and as words; timestamps with and without zone, as text too."""
    pg_execute(postgres_dsn, """
        DROP TABLE IF EXISTS public.typed_sends;
        CREATE TABLE public.typed_sends (id int, campaign_id int, lead_id int, sent boolean, opened text,
            replied smallint, bounced text, sent_at timestamptz, replied_at text, clicked varchar(5));
        INSERT INTO public.typed_sends VALUES
            (1, 1, 1, true,  'yes', 1, ' T ', '2026-01-01 01:30:00+02:00', '2026-01-01T10:00:00-05:00', 'No'),
            (2, 1, 2, false, 'no',  0, 'f',   '2026-01-01 01:30:00',       '2026-01-01 10:00:00',       '1'),
            (3, 1, 3, NULL,  '',    NULL, NULL, NULL,                       '2025-12-31T23:00:00Z',      NULL);""")
    monkeypatch.setenv("APP_DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("PGTZ", "America/New_York")  # a client session zone must not shift anything
    (tmp_path / "project.yml").write_text(
        "connections: {app: {type: postgres, env: APP_DATABASE_URL}}\n"
        "sources: {campaign_leads: {connection: app, table: typed_sends}}\n")
    project = load_project(tmp_path)
    con = duckdb.connect()
    loader = Loader(con, project)
    loader.load(project.sources["campaign_leads"], "sends", CONTRACT["campaign_leads"])
    loader.detach_all()
    rows = con.execute("SELECT id, sent, opened, replied, bounced, clicked, converted, CAST(sent_at AS VARCHAR), "
                       "CAST(replied_at AS VARCHAR), typeof(sent_at) FROM sends ORDER BY id").fetchall()
    assert rows == [
        (1, True, True, True, True, False, None, "2025-12-31 23:30:00", "2026-01-01 15:00:00", "TIMESTAMP"),
        (2, False, False, False, False, True, None, "2026-01-01 01:30:00", "2026-01-01 10:00:00", "TIMESTAMP"),
        (3, None, None, None, None, None, None, None, "2025-12-31 23:00:00", "TIMESTAMP"),
    ]


def test_segpipe_attaches_postgres_read_only(monkeypatch, postgres_dsn):
    """segpipe.connections.attach itself: the app's tables read, and no write reaches the server."""
    pg_execute(postgres_dsn, "DROP TABLE IF EXISTS public.ro_leads; "
                             "CREATE TABLE public.ro_leads (id int, email text); "
                             "INSERT INTO public.ro_leads VALUES (1, 'a@x.io'), (2, NULL);")
    monkeypatch.setenv("APP_DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "10")  # attach sets it when unset: keep it from leaking
    con = duckdb.connect()
    app = Connection(name="app", type="postgres", env="APP_DATABASE_URL")
    attach(con, app)
    assert con.execute(f"SELECT id, email FROM {app.catalog}.public.ro_leads ORDER BY id").fetchall() == [(1, "a@x.io"), (2, None)]
    for write in (f"INSERT INTO {app.catalog}.public.ro_leads VALUES (3, 'c@x.io')", f"DELETE FROM {app.catalog}.public.ro_leads",
                  f"CREATE TABLE {app.catalog}.public.ro_other (x INTEGER)"):
        with pytest.raises(duckdb.Error, match="(?i)read.only"):
            con.execute(write)
    con.close()
    assert pg_query(postgres_dsn, "SELECT id, email FROM public.ro_leads ORDER BY id") == [(1, "a@x.io"), (2, None)]
    assert pg_query(postgres_dsn, "SELECT count(*) FROM pg_tables WHERE tablename = 'ro_other'") == [(0,)]


def test_postgres_tables_are_read_from_one_snapshot(tmp_path, monkeypatch, app_db):
    """A send the app writes while segpipe loads is in none of the tables, or in all."""
    pg_execute(app_db, "DROP SCHEMA IF EXISTS snap CASCADE; CREATE SCHEMA snap; "
                       "CREATE TABLE snap.leads AS SELECT * FROM app.leads; "
                       "CREATE TABLE snap.campaign_leads AS SELECT * FROM app.campaign_leads")
    monkeypatch.setenv("APP_DATABASE_URL", app_db)
    (tmp_path / "project.yml").write_text(
        "connections: {app: {type: postgres, env: APP_DATABASE_URL}}\n"
        "sources: {leads: {connection: app, table: snap.leads}, "
        "campaign_leads: {connection: app, table: snap.campaign_leads}}\n")
    con = duckdb.connect()
    loads = Loader(con, load_project(tmp_path)).load_all_timed()
    assert next(loads)[:2] == ("source", "leads")
    pg_execute(app_db, "INSERT INTO snap.campaign_leads (id, campaign_id, lead_id, sent, opened, replied, bounced) "
                       "VALUES (999999, 1, 1, true, false, false, false)")
    assert [(kind, name) for kind, name, *_ in loads] == [("source", "campaign_leads")]
    assert con.execute("SELECT count(*), max(id) FROM src.campaign_leads").fetchone() == (3000, 3000)
    assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'app'").fetchone() == (0,)


def test_the_readme_example_project_runs(cli, tmp_path, monkeypatch, postgres_dsn, dataset, reference):
    """README's project.yml for an app's PostgreSQL, verbatim but for the schema name."""
    section = (REPO / "README.md").read_text().split("## Connecting segpipe to your app's PostgreSQL", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)
    pg_execute(postgres_dsn, pg_sql(dataset, "readme_app"))
    root = reference.copy_to(tmp_path / "readme", seeds=False)
    (root / "seeds" / "segments.yml").unlink()  # segments come from the table
    (root / "project.yml").write_text(example.replace("public.", "readme_app."))
    monkeypatch.setenv("APP_DATABASE_URL", postgres_dsn)

    result = run_project(cli, root)

    assert (result.exit_code, result.stderr) == (0, "")
    assert published_tables(root / "segpipe.duckdb") == up_to_float_summation(reference.published)


# -- failures: exit code, one exact line, the published file untouched ------------------------
@pytest.fixture
def published_pg_project(cli, tmp_path, monkeypatch, app_db, reference):
    """A project reading everything from PostgreSQL, published once successfully."""
    root = reference.copy_to(tmp_path / "app", seeds=False)
    point_at_postgres(root)
    monkeypatch.setenv("APP_DATABASE_URL", app_db)
    assert run_project(cli, root).exit_code == 0
    return root


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize("style", ["url", "key=value"])
def test_unreachable_database_is_one_line_without_the_password(cli, published_pg_project, monkeypatch, style):
    port = closed_port()
    dsn = (f"postgresql://segpipe:s3cret-pw@127.0.0.1:{port}/appdb" if style == "url" else
           f"host=127.0.0.1 port={port} user=segpipe password='s3cret-pw' dbname=appdb")
    monkeypatch.setenv("APP_DATABASE_URL", dsn)
    result = assert_fails(cli, published_pg_project,
                          f"connection 'app': cannot connect to PostgreSQL at host 127.0.0.1 port {port} "
                          f"database appdb: Connection refused. Is the server running on that host and accepting "
                          f"TCP/IP connections? (connection string from $APP_DATABASE_URL)")
    assert "s3cret" not in result.stdout + result.stderr


def test_unreachable_database_while_loading_sources(cli, published_pg_project, monkeypatch, app_db):
    """Segments from segments.yml, so the connection is first used while building."""
    point_at_postgres(published_pg_project, segments_table=None)
    monkeypatch.setenv("APP_DATABASE_URL", app_db.rsplit("/", 1)[0] + "/no_such_db")
    port = app_db.rsplit(":", 1)[1].split("/")[0]
    assert_fails(cli, published_pg_project,
                 f"connection 'app': cannot connect to PostgreSQL at host 127.0.0.1 port {port} database "
                 f"no_such_db: FATAL: database \"no_such_db\" does not exist (connection string from $APP_DATABASE_URL)")


def test_unset_environment_variable(cli, published_pg_project, monkeypatch):
    monkeypatch.delenv("APP_DATABASE_URL")
    assert_fails(cli, published_pg_project,
                 "connection 'app': environment variable APP_DATABASE_URL is not set — export it with the "
                 "PostgreSQL connection string, e.g. postgresql://USER:PASSWORD@HOST:5432/DBNAME")


def test_missing_extension_package_names_the_extra(cli, published_pg_project, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb_extension_postgres_scanner", None)  # as if not installed
    assert_fails(cli, published_pg_project,
                 "the postgres source needs the DuckDB PostgreSQL scanner: pip install 'segpipe[postgres]'")


def test_missing_table(cli, published_pg_project):
    point_at_postgres(published_pg_project, leads="app.customers")
    assert_fails(cli, published_pg_project,
                 "source 'leads' (app:app.customers): no table app.customers in connection 'app' "
                 "— check 'table' under sources.leads in project.yml")


def test_quoted_table_names_as_sql_writes_them(cli, published_pg_project, app_db, reference):
    """A name in double quotes keeps its case, spaces and dots, as in SQL: "App Data"."Sends.v2"."""
    pg_execute(app_db, 'DROP SCHEMA IF EXISTS "App Data" CASCADE; CREATE SCHEMA "App Data"; '
                       'CREATE TABLE "App Data"."Sends.v2" AS SELECT * FROM app.campaign_leads; '
                       'CREATE TABLE "App Data"."Leads" AS SELECT * FROM app.leads')
    point_at_postgres(published_pg_project, campaign_leads='"App Data"."Sends.v2"', leads='"App Data".Leads')
    result = run_project(cli, published_pg_project)
    assert (result.exit_code, result.stderr) == (0, "")
    assert published_tables(published_pg_project / "out.duckdb") == up_to_float_summation(reference.published)


def test_an_unquoted_table_name_is_lower_case_as_in_sql(cli, published_pg_project, app_db, reference):
    """app.LEADS is app.leads, as PostgreSQL reads it, not a table "Leads" beside it."""
    pg_execute(app_db, 'DROP TABLE IF EXISTS app."Leads"; CREATE TABLE app."Leads" AS SELECT * FROM app.leads LIMIT 1')
    try:
        point_at_postgres(published_pg_project, leads="APP.Leads")
        result = run_project(cli, published_pg_project)
        assert (result.exit_code, result.stderr) == (0, "")
        assert published_tables(published_pg_project / "out.duckdb") == up_to_float_summation(reference.published)
    finally:
        pg_execute(app_db, 'DROP TABLE IF EXISTS app."Leads"')


def test_table_with_more_than_a_schema_is_one_line(cli, published_pg_project):
    point_at_postgres(published_pg_project, leads="segpipe.app.leads")
    assert_fails(cli, published_pg_project,
                 "source 'leads': table segpipe.app.leads is not a table name or schema.table "
                 "— check 'table' under sources.leads in project.yml")


def test_a_table_the_role_may_not_read_is_postgres_reason(cli, published_pg_project, app_db, monkeypatch):
    """PostgreSQL's reason alone, not the COPY statement DuckDB prepared around it."""
    pg_execute(app_db, "DROP ROLE IF EXISTS no_leads; CREATE ROLE no_leads LOGIN; "
                       "GRANT USAGE ON SCHEMA app TO no_leads; "
                       "GRANT SELECT ON app.workspaces, app.campaigns, app.campaign_leads, app.segments TO no_leads")
    monkeypatch.setenv("APP_DATABASE_URL", app_db.replace("//segpipe@", "//no_leads@"))
    assert_fails(cli, published_pg_project,
                 "source 'leads' (app:app.leads): cannot load: permission denied for table leads")


def test_missing_required_column(cli, published_pg_project, app_db):
    pg_execute(app_db, "DROP TABLE IF EXISTS app.leads_v2; "
                       "CREATE TABLE app.leads_v2 AS SELECT * FROM app.leads; ALTER TABLE app.leads_v2 DROP COLUMN email")
    point_at_postgres(published_pg_project, leads="app.leads_v2")
    assert_fails(cli, published_pg_project,
                 "source 'leads' (app:app.leads_v2): missing required column 'email' — a leads source needs "
                 "columns id, workspace_id, email, source, score, country, role, company_size, industry, tags, created_at")


@pytest.mark.parametrize("change,message", [
    ("UPDATE app.sends_v2 SET clicked = 'maybe' WHERE id IN (1500, 2500)",
     "row with id 1500, column 'clicked': cannot read 'maybe' as BOOLEAN — it takes true/false, t/f, yes/no, y/n or 1/0"),
    ("ALTER TABLE app.sends_v2 ALTER COLUMN replied_at TYPE text; "
     "UPDATE app.sends_v2 SET replied_at = 'soon' WHERE id = 42",
     "row with id 42, column 'replied_at': cannot read 'soon' as TIMESTAMP — it takes "
     "a date or time such as 2025-01-31, 2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset needs the seconds)"),
])
def test_value_that_does_not_fit_names_the_row(cli, published_pg_project, app_db, change, message):
    pg_execute(app_db, f"DROP TABLE IF EXISTS app.sends_v2; "
                       f"CREATE TABLE app.sends_v2 AS SELECT * FROM app.campaign_leads; {change}")
    point_at_postgres(published_pg_project, campaign_leads="app.sends_v2")
    assert_fails(cli, published_pg_project, f"source 'campaign_leads' (app:app.sends_v2): {message}; "
                                               f"fix the value")


# -- segments kept in a PostgreSQL table ---------------------------------------------------------
def test_malformed_filters_json_names_the_table_and_segment(cli, published_pg_project, app_db):
    pg_execute(app_db, """DROP TABLE IF EXISTS app.segments_text;
        CREATE TABLE app.segments_text (id bigint, workspace_id int, name text, description text, filters text);
        INSERT INTO app.segments_text VALUES (1, NULL, 'US', NULL, '{"countries": ["US"]}'),
                                             (7, 2, 'Broken', NULL, '{"countries": ["US"'),
                                             (8, NULL, 'Everyone', NULL, NULL);""")
    point_at_postgres(published_pg_project, segments_table="segments_text")
    assert_fails(cli, published_pg_project,
                 "source 'segments' (app:app.segments_text): segment 7: 'filters' is not valid JSON "
                 "(Expecting ',' delimiter at char 19) — store a JSON object such as {\"countries\": [\"US\"]}")


@pytest.mark.parametrize("filters,message", [
    ("""'{"countrys": ["US"]}'""", "segment 3: filters: unknown key 'countrys' (did you mean 'countries'?)"),
    ("""'{"min_score": "high"}'""", "segment 3: filters.min_score must be a number such as 60 (scores are 0–100), got 'high'"),
    ("""'["US"]'""", "segment 3: 'filters' must be a mapping of filter keys"),
])
def test_segments_table_is_validated_like_segments_yml(cli, published_pg_project, app_db, filters, message):
    pg_execute(app_db, f"""DROP TABLE IF EXISTS app.segments_bad;
        CREATE TABLE app.segments_bad (id int, workspace_id int, name text, description text, filters jsonb);
        INSERT INTO app.segments_bad VALUES (3, NULL, 'Typo', NULL, {filters});""")
    point_at_postgres(published_pg_project, segments_table="segments_bad")
    assert_fails(cli, published_pg_project, f"source 'segments' (app:app.segments_bad): {message}")


def test_segments_table_needs_id_and_name(cli, published_pg_project, app_db):
    pg_execute(app_db, """DROP TABLE IF EXISTS app.segments_noname;
        CREATE TABLE app.segments_noname (id int, title text, filters jsonb);""")
    point_at_postgres(published_pg_project, segments_table="segments_noname")
    assert_fails(cli, published_pg_project,
                 "source 'segments' (app:app.segments_noname): missing required column 'name' "
                 "— a segments source needs columns id, name")


@pytest.mark.parametrize("dsn,described", [
    ("postgresql://app:5432@db.internal/app", "host db.internal port 5432 database app"),
    ("postgres://app:p%40ss:word@[::1]:6543/app?sslmode=require", "host ::1 port 6543 database app"),
    ("postgresql://app:pw@h1:5433,h2:5434/app", "host h1 port 5433 database app"),
    ("postgresql:///app?host=/var/run/postgresql&password=pw", "host /var/run/postgresql port 5432 database app"),
    ("host=db.internal port=6000 dbname='my app' user=app password='it\\'s secret'",
     "host db.internal port 6000 database my app"),
    ("dbname=app", "host localhost port 5432 database app"),
])
def test_connection_string_described_without_secrets(dsn, described):
    target, secrets = postgres_target(dsn)
    assert target == described
    assert dsn in secrets
    assert not any(word in target for word in ("pw", "p@ss", "secret", "5432@"))


# -- the test server itself ----------------------------------------------------------------------
@pytest.mark.parametrize("initdb,reason", [
    (None, r"(initdb failed: .*initdb|cannot run the server binaries in .*): No such file or directory"),
    ("#!/bin/sh\necho 'initdb: error: disk full' >&2\nexit 1\n", r"initdb failed: initdb: error: disk full"),
])
def test_a_server_that_cannot_start_says_why(initdb, reason):
    """What the fixture turns into a skip (or, with SEGPIPE_REQUIRE_POSTGRES=1, a failure)."""
    bin_dir = Path(tempfile.mkdtemp(prefix="segpipe-fake-pg-", dir="/tmp"))  # reachable by the server user
    try:
        bin_dir.chmod(0o755)
        if initdb:
            (bin_dir / "initdb").write_text(initdb)
            (bin_dir / "initdb").chmod(0o755)
        server = PostgresServer(bin_dir=bin_dir)
        with pytest.raises(ServerUnavailable, match=reason) as error:
            server.start()
        assert "\n" not in str(error.value)
        assert server.tmp is None  # its temporary folder is gone
    finally:
        shutil.rmtree(bin_dir)
