"""Materializations: what building a model (or removing a node) does to the build file.

`table` and `view` replace the relation whatever it was before (a model with
`batches` a slice of time at a time); `incremental` replaces only the model's
recent rows; a node gone from the project is dropped.
Each function does the SQL and returns the rows it made; the runner times and
reports it. A failing statement raises duckdb.Error for the runner to name.
"""

from __future__ import annotations

from .errors import RunError
from .render import Model
from .sql import META_SCHEMA, drop_relation, sql_literal

#: where each kind of node lives in the build file
SCHEMAS = {"source": ("src",), "seed": ("seeds",)}
NOT_MODEL_SCHEMAS = ("src", "seeds", META_SCHEMA)


def replace(con, model: Model) -> int | None:
    """CREATE the model as a table or view in place of whatever had its name; a table's rows."""
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
    drop_relation(con, model.schema, model.name)
    # and one it left in another schema before its config(schema=…) changed (in a copy of the
    # published file): a fresh build would not hold that one either
    drop_node(con, "model", model.name)
    con.execute(f"CREATE {kind} {model.relation} AS\n{model.sql}")
    return None if kind == "VIEW" else con.execute(f"SELECT count(*) FROM {model.relation}").fetchone()[0]


def replace_in_batches(con, model: Model, render) -> tuple[int, int]:
    """Build the model one slice of time at a time (dbt's microbatch): `batches` is a query
    for the first day of each slice, `render(batch)` renders the model for one slice
    ({'start', 'end'}, the first from -infinity, the last to infinity, so every row falls
    in exactly one). The first slice creates the table, the others insert. Why: an
    aggregation of all history at a fine grain holds every group in memory at once, a
    month of it a twelfth (docs/internals.md has the figures). Returns (rows, slices)."""
    starts = sorted({row[0] for row in con.execute(model.config["batches"]).fetchall() if row[0] is not None})
    edges = ["-infinity", *(str(day) for day in starts[1:]), "infinity"]
    for index, (start, end) in enumerate(zip(edges, edges[1:])):
        render({"start": sql_literal(start), "end": sql_literal(end)})
        if index == 0:
            replace(con, model)
        else:
            con.execute(f"INSERT INTO {model.relation} BY NAME\n{model.sql}")
    return con.execute(f"SELECT count(*) FROM {model.relation}").fetchone()[0], len(edges) - 1


def update_incremental(con, model: Model) -> int:
    """Replace only the recent rows: delete what `incremental_predicates` (or the new
    rows' unique_key) select, then insert the model's incremental result."""
    predicates = model.config.get("incremental_predicates") or []
    con.execute(f"CREATE OR REPLACE TEMP TABLE __incoming AS\n{model.sql}")
    if predicates:
        where = " AND ".join(f"({p})" for p in predicates)
    else:
        keys = model.config.get("unique_key")
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        if not keys:
            raise RunError(f"model {model.name} ({model.path.name}): an incremental model needs unique_key or incremental_predicates")
        cols = ", ".join(keys)
        where = f"({cols}) IN (SELECT {cols} FROM __incoming)"
    con.execute(f"DELETE FROM {model.relation} WHERE {where}")
    con.execute(f"INSERT INTO {model.relation} BY NAME SELECT * FROM __incoming")
    rows = con.execute("SELECT count(*) FROM __incoming").fetchone()[0]
    con.execute("DROP TABLE __incoming")
    return rows


def drop_node(con, kind: str, name: str) -> None:
    """Remove what a model, source or seed left in the copied file (one gone since the last run;
    a model's relation in a schema it moved from), so an incremental build holds exactly what a
    fresh one would."""
    schemas = [schema for (schema,) in con.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_name = ?", [name]).fetchall()]
    for schema in schemas:
        if schema in SCHEMAS.get(kind, ()) or (kind == "model" and schema not in NOT_MODEL_SCHEMAS):
            drop_relation(con, schema, name)
