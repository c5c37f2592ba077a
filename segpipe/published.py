"""Reading the published file: read-only, with errors that say what to do.

`segpipe top`, `leads`, `campaigns` and `test` read the file `segpipe run`
published. They open it read-only (so they never block a run or a BI tool) and
turn a missing file or table into one line pointing at `segpipe run`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import NoPublishedFileError, first_line


def connect_published(path: Path):
    """Open the published file read-only (readers never block a run)."""
    import duckdb

    if not Path(path).exists():
        raise NoPublishedFileError(f"no published database at {path} — run `segpipe run` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise NoPublishedFileError(f"cannot open {path}: {first_line(exc)}") from None


def query(con, sql: str, params=None) -> list[tuple]:
    """Run a read query; a missing table or column means the file predates this segpipe."""
    import duckdb

    try:
        return con.execute(sql, params or {}).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        raise NoPublishedFileError(f"the published database lacks what this command reads ({first_line(exc)}) — "
                          "rebuild it with `segpipe run`") from None


def run_vars(con) -> dict:
    """The vars the published file was built with (attribution, days, as_of)."""
    rows = query(con, "select vars from segpipe_meta.run_info")
    return json.loads(rows[0][0]) if rows else {}
