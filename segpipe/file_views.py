"""Views over source files: used while building, never published.

Parquet sources are read where they lie (`src.<name>` is a view over the files,
see `Loader.reads_in_place`), and so are the view models built on them
(`staging.stg_sends`…). A BI tool must never need those files, so such views
are left out of the published file. Their definitions are kept in
`segpipe_meta.file_views`, and replayed:

- by the next `segpipe run`, which starts from a copy of the published file
  and needs them to build what changed;
- by `segpipe test`, which tests those views too: it opens an in-memory
  database over the published file (attached read-only) and recreates the
  views there, reading the files as they are now
  (`published.connect_with_sources`). The drill-downs need none of this: they
  read published tables (segment_campaign_daily, leads).
"""

from __future__ import annotations

import duckdb

from .sql import META_SCHEMA, create_meta_schema, quote_ident

TABLE = f"{META_SCHEMA}.file_views"


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
    create_meta_schema(con)
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} (position INTEGER, schema_name VARCHAR, view_name VARCHAR, sql VARCHAR)")
    if definitions:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", definitions)
    for schema, name in reversed(views):
        con.execute(f"DROP VIEW {quote_ident(schema)}.{quote_ident(name)}")


def stored(con, catalog: str | None = None) -> list[tuple[str, str, str]]:
    """(schema, name, CREATE VIEW statement) recorded by the run that published the file
    (in `catalog`, default the current database)."""
    catalog = catalog or con.execute("SELECT current_database()").fetchone()[0]
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? "
                         "AND table_name = 'file_views' AND database_name = ?", [META_SCHEMA, catalog]).fetchone()[0]
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
