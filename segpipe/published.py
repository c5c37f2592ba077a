"""Reading the published file: read-only, with errors that say what to do.

`segpipe top`, `leads`, `campaigns` and `test` read the file `segpipe run`
published. They open it read-only (so they never block a run or a BI tool) and
turn a missing file or table into one line pointing at `segpipe run`. The
commands read published tables only (contract.py); `segpipe test`, which also
tests the staging views over source files, gets those views back (see
file_views.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, NoPublishedFileError, first_line
from .sql import is_duckdb_file, without_pandas

if TYPE_CHECKING:  # changes.py imports the build machinery, which readers never need
    from .changes import NodeId

PUBLISHED = "segpipe_published"  # the catalog name of the attached published file


def connect_published(path: Path):
    """Open the published file read-only (readers never block a run)."""
    import duckdb

    if not Path(path).exists():
        raise NoPublishedFileError(f"no published database at {path} — run `segpipe run` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if not is_duckdb_file(path):  # DuckDB's message for a CSV or Parquet file is about in-memory databases
            raise NoPublishedFileError(f"cannot open {path}: it is not a DuckDB database — --db names the file "
                                       "`segpipe run` publishes") from None
        raise NoPublishedFileError(f"cannot open {path}: {first_line(exc)}") from None


def connect_project(project_dir, db=None):
    """A read-only connection to a project's published file (`--project-dir`, `--db`):
    what every reading command opens."""
    from .project import load_project

    return connect_published(load_project(project_dir, db=db).database)


def query(con, sql: str, params=None) -> list[tuple]:
    """Run a read query; a missing table or column means the file predates this segpipe."""
    import duckdb

    try:
        with without_pandas():
            return con.execute(sql, params or {}).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        raise NoPublishedFileError(f"the published database lacks what this command reads ({first_line(exc)}) — "
                          "rebuild it with `segpipe run`") from None


def run_info(con) -> dict:
    """What the published file was built with: `vars` (attribution, days, as_of) and
    `sources` (the names of the sources it read)."""
    from .contract import RUN_INFO

    rows = query(con, f"select vars, sources from {RUN_INFO}")
    return {"vars": json.loads(rows[0][0]), "sources": json.loads(rows[0][1])} if rows else {}



def connect_with_sources(project, warn=None):
    """A connection reading the published file plus the views over source files
    (for `segpipe test`): an in-memory database with the published
    file attached read-only. Without such views it is simply the current database;
    with them, every published table and view gets an alias in memory and the file
    views are recreated beside them. `warn` gets one line per source changed since
    the run."""
    import duckdb  # here, not above: `segpipe top` starts without what only the drill-downs need

    from . import file_views
    from .changes import stored_fingerprints
    from .sql import connect, quote_ident, quote_str

    connect_published(project.database).close()  # a missing or unreadable file: one clear line
    con = connect()
    con.execute(f"ATTACH {quote_str(str(project.database))} AS {PUBLISHED} (READ_ONLY)")
    views = file_views.stored(con, PUBLISHED)
    if not views:
        con.execute(f"USE {PUBLISHED}")
        return con
    relations = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
        [PUBLISHED, PUBLISHED]).fetchall()
    for schema, name in relations:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        con.execute(f"CREATE VIEW {quote_ident(schema)}.{quote_ident(name)} AS "
                    f"SELECT * FROM {PUBLISHED}.{quote_ident(schema)}.{quote_ident(name)}")
    for schema, name, sql in views:
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            con.execute(sql)
        except duckdb.Error as exc:
            con.close()
            raise ConfigError(f"{schema}.{name} reads source files that are gone or changed ({first_line(exc)}) — run "
                              "`segpipe run`, or set `copy: true` on the source to keep a copy in the published file") from None
    if warn:
        previous = stored_fingerprints(con, PUBLISHED)
        for line in changed_since_run(project, previous, [name for schema, name, _ in views if schema == "src"]):
            warn(line)
    return con


def changed_since_run(project, previous: dict[NodeId, str], sources: list[str]) -> list[str]:
    """A note for each in-place source whose files differ from the published run's."""
    from .changes import NodeId, source_files, source_fingerprint
    from .source_types import CONTRACT

    notes = []
    for name in sources:
        source = project.sources.get(name)
        if source is None:
            continue
        now = source_fingerprint(source, CONTRACT.get(name, {}), source_files(source))
        if previous.get(NodeId("source", name)) != now:
            notes.append(f"note: source '{name}' ({source.location}) changed since the published run; "
                         "this reads it as it is now — run `segpipe run` to match `segpipe top`")
    return notes
