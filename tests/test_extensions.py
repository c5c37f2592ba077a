"""The PostgreSQL and SQLite scanners load from their PyPI packages, offline."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segpipe.connections import attach
from segpipe.errors import ConfigError
from segpipe.extensions import extension_path, load_extension
from segpipe.project import Connection
from tests.pg_server import pg_query


def offline_connection(tmp_path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that cannot download or auto-load anything: an
    empty extension folder and an unreachable repository."""
    return duckdb.connect(config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "extension_directory": str(tmp_path / "ext"),
        "custom_extension_repository": "http://127.0.0.1:9/nowhere",
    })


@pytest.mark.parametrize("name,ext", [("postgres", "postgres_scanner"),
                                      ("sqlite", "sqlite_scanner")])
def test_extension_installs_from_its_package_offline(tmp_path, name, ext):
    con = offline_connection(tmp_path)
    load_extension(con, name)
    load_extension(con, name)  # loading twice is harmless
    loaded, installed_from = con.execute(
        "SELECT loaded, installed_from FROM duckdb_extensions() WHERE extension_name = ?", [ext]).fetchone()
    assert loaded
    assert installed_from == str(extension_path(name))  # from the PyPI package, not the network
    installed, = (tmp_path / "ext").rglob(f"{ext}.duckdb_extension")
    assert installed.parent.parent.name == "v" + duckdb.__version__


def test_extension_loads_by_path_when_it_cannot_be_installed(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "extension_directory": str(tmp_path / "file" / "ext")})
    load_extension(con, "sqlite")
    loaded, installed = con.execute("SELECT loaded, installed FROM duckdb_extensions() "
                                    "WHERE extension_name = 'sqlite_scanner'").fetchone()
    assert (loaded, installed) == (True, False)


def test_postgres_roundtrip(tmp_path, postgres_dsn):
    con = offline_connection(tmp_path)
    con.execute("SET TimeZone = 'UTC'")
    load_extension(con, "postgres")
    con.execute(f"ATTACH '{postgres_dsn}' AS pg (TYPE postgres)")
    con.execute("DROP TABLE IF EXISTS pg.public.ext_roundtrip")
    con.execute("CREATE TABLE pg.public.ext_roundtrip (id INTEGER, sent_at TIMESTAMPTZ,"
                " replied BOOLEAN, note VARCHAR)")
    con.execute("""INSERT INTO pg.public.ext_roundtrip VALUES
        (1, TIMESTAMPTZ '2025-01-31 23:59:59+00', true, 'it''s -- fine'),
        (2, TIMESTAMPTZ '2025-01-01 02:00:00+02', false, NULL),
        (3, NULL, NULL, '')""")
    # (fetching TIMESTAMPTZ itself into Python needs pytz: compare as naive UTC)
    rows = con.execute("SELECT id, typeof(sent_at), sent_at AT TIME ZONE 'UTC', replied,"
                       " note FROM pg.public.ext_roundtrip ORDER BY id").fetchall()
    assert rows == [
        (1, "TIMESTAMP WITH TIME ZONE", dt.datetime(2025, 1, 31, 23, 59, 59), True,
         "it's -- fine"),
        (2, "TIMESTAMP WITH TIME ZONE", dt.datetime(2025, 1, 1, 0, 0, 0), False, None),
        (3, "TIMESTAMP WITH TIME ZONE", None, None, ""),
    ]
    # PostgreSQL itself stored real timestamptz/boolean columns with the same values.
    types = pg_query(postgres_dsn, "SELECT column_name::text, data_type::text FROM "
                     "information_schema.columns WHERE table_name = 'ext_roundtrip' "
                     "ORDER BY ordinal_position")
    assert types == [("id", "integer"), ("sent_at", "timestamp with time zone"),
                     ("replied", "boolean"), ("note", "character varying")]
    assert pg_query(postgres_dsn, "SELECT id, to_char(sent_at AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD HH24:MI:SS'), replied FROM ext_roundtrip ORDER BY id") == [
        (1, "2025-01-31 23:59:59", True), (2, "2025-01-01 00:00:00", False), (3, None, None)]
    con.execute("DROP TABLE pg.public.ext_roundtrip")


def write_app_database(kind: str, path) -> None:
    """The app's database file: a leads table with two rows."""
    rows = [(1, "a@x.io", 80.5), (2, None, None)]
    if kind == "sqlite":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, score REAL)")
            db.executemany("INSERT INTO leads VALUES (?, ?, ?)", rows)
        db.close()
    else:
        with duckdb.connect(str(path)) as db:
            db.execute("CREATE TABLE leads (id INTEGER, email VARCHAR, score DOUBLE)")
            db.executemany("INSERT INTO leads VALUES (?, ?, ?)", rows)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_segpipe_attaches_a_database_file_read_only(tmp_path, kind):
    """segpipe.connections.attach itself (not an ATTACH of the test's own): reads work, writes fail."""
    path = tmp_path / f"app.{kind}"
    write_app_database(kind, path)
    before = path.read_bytes()
    con = offline_connection(tmp_path)
    app = Connection(name="app", type=kind, path=path)
    attach(con, app)
    rows = con.execute(f"SELECT id, email, score FROM {app.catalog}.leads ORDER BY id").fetchall()
    # segpipe reads SQLite as text (its columns are dynamically typed) and casts later
    assert rows == ([("1", "a@x.io", "80.5"), ("2", None, None)] if kind == "sqlite"
                    else [(1, "a@x.io", 80.5), (2, None, None)])
    for write in (f"INSERT INTO {app.catalog}.leads VALUES (3, 'c@x.io', 1)", f"DELETE FROM {app.catalog}.leads",
                  f"CREATE TABLE {app.catalog}.other (x INTEGER)"):
        with pytest.raises(duckdb.Error, match="(?i)read.only"):
            con.execute(write)
    con.close()
    assert path.read_bytes() == before


SQLITE_INSTALL_PATH = "SELECT install_path FROM duckdb_extensions() WHERE extension_name = 'sqlite_scanner'"


def test_the_tests_install_extensions_under_a_private_home(private_home):
    """tests/conftest.py points HOME at a temporary folder: DuckDB's default extension folder
    (~/.duckdb/extensions) is under it, here and in the processes the tests start."""
    folder = private_home / ".duckdb" / "extensions"
    con = duckdb.connect()  # DuckDB's defaults, unlike offline_connection
    load_extension(con, "sqlite")
    assert Path(con.execute(SQLITE_INSTALL_PATH).fetchone()[0]).is_relative_to(folder)
    probe = ("import duckdb; from segpipe.extensions import load_extension; con = duckdb.connect(); "
             f"load_extension(con, 'sqlite'); print(con.execute({SQLITE_INSTALL_PATH!r}).fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(folder)


@pytest.mark.parametrize("name,module,label", [
    ("postgres", "duckdb_extension_postgres_scanner", "PostgreSQL"),
    ("sqlite", "duckdb_extension_sqlite_scanner", "SQLite"),
])
def test_missing_package_is_a_config_error(tmp_path, monkeypatch, name, module, label):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ConfigError) as err:
        load_extension(offline_connection(tmp_path), name)
    assert str(err.value) == (f"the {name} source needs the DuckDB {label} scanner: "
                              f"pip install 'segpipe[{name}]'")


def test_unknown_extension_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown DuckDB extension 'mysql'"):
        load_extension(offline_connection(tmp_path), "mysql")
