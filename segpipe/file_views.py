"""Views over source files: used while building, never published.

Parquet sources are read where they lie (`src.<name>` is a view over the files,
see `Loader.reads_in_place`), and so are the view models built on them
(`staging.stg_sends`…). A BI tool must never need those files, so such views
are left out of the published file. Their definitions are kept in
`segpipe_meta.file_views`, and replayed:

- by the next `segpipe run`, which starts from a copy of the published file
  and needs them to build what changed;
- by the drill-downs and `segpipe test`, which read the sends and leads: they
  open an in-memory database over the published file (attached read-only) and
  recreate the views there, reading the files as they are now.
"""

from __future__ import annotations

import duckdb

from .errors import ConfigError
from .sources import CONTRACT, first_line, quote_ident, quote_str
from .state import TABLE as FINGERPRINTS
from .state import source_files, source_fingerprint

TABLE = "segpipe_meta.file_views"
PUBLISHED = "segpipe_published"  # the catalog name of the attached published file


def file_views(con, plan) -> list[tuple[str, str]]:
    """(schema, name) of every view that reads source files, in build order: the
    in-place sources' views, then each view model built on one of them."""
    in_place = {name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'src' AND NOT internal").fetchall()}
    views = [("src", name) for name in sorted(in_place)]
    reading_files = set()
    for name in plan.order:
        model = plan.models[name]
        if model.materialized == "view" and (set(model.sources) & in_place or set(model.refs) & reading_files):
            reading_files.add(name)
            views.append((model.schema, name))
    return views


def detach(con, plan) -> None:
    """Record the definitions of the views that read files, then drop them."""
    existing = {(schema, name): sql for schema, name, sql in con.execute(
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()}
    views = [view for view in file_views(con, plan) if view in existing]
    definitions = [(position, schema, name, existing[schema, name]) for position, (schema, name) in enumerate(views)]
    con.execute("CREATE SCHEMA IF NOT EXISTS segpipe_meta")
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} (position INTEGER, schema_name VARCHAR, view_name VARCHAR, sql VARCHAR)")
    if definitions:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", definitions)
    for schema, name in reversed(views):
        con.execute(f"DROP VIEW {quote_ident(schema)}.{quote_ident(name)}")


def stored(con, catalog: str | None = None) -> list[tuple[str, str, str]]:
    """(schema, name, CREATE VIEW statement) recorded by the run that published the file
    (in `catalog`, default the current database)."""
    catalog = catalog or con.execute("SELECT current_database()").fetchone()[0]
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'segpipe_meta' "
                         "AND table_name = 'file_views' AND database_name = ?", [catalog]).fetchone()[0]
    if not exists:
        return []  # a fresh build, or a file published before views over files existed
    return con.execute(f"SELECT schema_name, view_name, sql FROM {quote_ident(catalog)}.{TABLE} "
                       "ORDER BY position").fetchall()


def replay(con, sources=(), models=()) -> None:
    """Recreate the recorded views in a build started from the published file, after
    the changed sources are loaded (so the view models over them bind to the new
    ones). Left out: the views of `sources` (reloaded, so already recreated, or
    removed) and of `models` (removed). One whose files went away is skipped: its
    source was reloaded, or its model is rebuilt later in the run."""
    for schema, name, sql in stored(con):
        if name in (sources if schema == "src" else models):
            continue
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            con.execute(sql)
        except duckdb.Error:
            continue


def connect_with_sources(project, warn=None):
    """A connection reading the published file plus the views over source files
    (for `leads`, `campaigns` and `test`): an in-memory database with the published
    file attached read-only. Without such views it is simply the current database;
    with them, every published table and view gets an alias in memory and the file
    views are recreated beside them. `warn` gets one line per source changed since
    the run."""
    from .published import connect_published

    connect_published(project.database).close()  # a missing or unreadable file: one clear line
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH {quote_str(str(project.database))} AS {PUBLISHED} (READ_ONLY)")
    views = stored(con, PUBLISHED)
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
        previous = dict(con.execute(f"SELECT node, fingerprint FROM {PUBLISHED}.{FINGERPRINTS}").fetchall())
        for line in changed_since_run(project, previous, [name for schema, name, _ in views if schema == "src"]):
            warn(line)
    return con


def changed_since_run(project, previous: dict[str, str], sources: list[str]) -> list[str]:
    """A note for each in-place source whose files differ from the published run's."""
    notes = []
    for name in sources:
        source = project.sources.get(name)
        if source is None:
            continue
        now = source_fingerprint(source, CONTRACT.get(name, {}), source_files(source))
        if previous.get(f"source:{name}") != now:
            notes.append(f"note: source '{name}' ({source.location}) changed since the published run; "
                         "this reads it as it is now — run `segpipe run` to match `segpipe top`")
    return notes
