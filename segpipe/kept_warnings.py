"""The data-quality warnings of the published file, kept in it, so a run that does not rebuild
a model still reports them (SPEC §12: `segpipe run` reports what makes figures quietly
smaller or wrong, on every run while it lasts).

A model is skipped only when its SQL, its docs and tests, and every input are as they were
(changes.py), so its tests would find again what they found then: their warnings are
reported from `segpipe_meta.warnings` instead of testing tables that did not change (at
scale m that is seconds). A test that looks at another model (`relationships`) runs again.
A model left out by `--select` keeps its table, and so its warnings, whatever changed. An
`expression_is_true` that reads another table or today's date is taken as its model's too.
"""

from __future__ import annotations

from pathlib import Path

from .sql import META_SCHEMA, create_meta_schema

TABLE = f"{META_SCHEMA}.warnings"
#: what a re-reported warning adds to its message
AGAIN = "not rebuilt since tested"


def kept(con) -> list[tuple[str, str, str, str]]:
    """(model, test, message, example) of each warning the file `con` reads was published with;
    [] for a file from before warnings were kept."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'warnings'",
                       [META_SCHEMA]).fetchall():
        return []
    return con.execute(f"SELECT model, test, message, example FROM {TABLE} ORDER BY model, test").fetchall()


def kept_in(db_path: Path) -> list[tuple[str, str, str, str]]:
    """kept() of a published file, opened read-only; [] when it cannot be read."""
    import duckdb

    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return []
    try:
        return kept(con)
    except duckdb.Error:
        return []
    finally:
        con.close()


def keep(con, warnings: list[tuple[str, str, str, str]]) -> None:
    """Store the warnings the file is published with (replacing those of the last run)."""
    create_meta_schema(con)
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} (model VARCHAR, test VARCHAR, message VARCHAR, example VARCHAR)")
    if warnings:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", [list(w) for w in warnings])


def relating_tests(plan, models) -> list:
    """The `relationships` tests of `models`: they look at another model, which may have changed."""
    return [t for name in models if name in plan.docs for t in plan.docs[name].tests if t.kind == "relationships"]


def report_kept(warnings, plan, progress, models=None) -> list[tuple[str, str, str, str]]:
    """Report again (on `progress`, runner.Progress) the kept warnings the plan still declares: of
    `models`, but for their `relationships` tests, which run again; with nothing built
    (models None) all of them. Returns them."""
    declared = {(name, t.name) for name, doc in plan.docs.items() for t in doc.tests
                if models is None or (name in models and t.kind != "relationships")}
    again = [w for w in warnings if (w[0], w[1]) in declared]
    for model, test, message, example in again:
        progress.node("test", test, "WARN", 0.0, None, f"{message} ({AGAIN})", example)
    return again
