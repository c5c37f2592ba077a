"""The few SQL helpers every part of segpipe shares: quoting, connection set-up,
and dropping a relation whatever kind it is.

Values reach SQL only through `sql_literal`/`quote_str` (quoted, never spliced)
and names only through `quote_ident`. Every connection segpipe builds or reads
through is set up by `configure`, so naive timestamps mean UTC everywhere.
"""

from __future__ import annotations

import contextlib
import math
import sys

#: segpipe's own bookkeeping in a built file (fingerprints, run info, file views)
META_SCHEMA = "segpipe_meta"


#: what DuckDB's trim() strips: Unicode's space separators (category Zs), not tabs or newlines
SPACE_SEPARATORS = "".join(chr(c) for c in (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000))


def is_duckdb_file(path) -> bool:
    """Whether the file at `path` is a DuckDB database (its magic bytes; False when unreadable)."""
    with contextlib.suppress(OSError), open(path, "rb") as file:
        return file.read(12)[8:12] == b"DUCK"
    return False


def quote_ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def sql_literal(value) -> str:
    """Render a Python value as a DuckDB SQL literal; strings are quoted, never spliced."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def quote_str(value) -> str:
    """Text as a SQL string literal (a path, a file name)."""
    return sql_literal(str(value))


def configure(con, *, threads: int | None = None, memory_limit: str | None = None, building: bool = False):
    """Set up a connection as segpipe expects it: UTC, and the project's resource limits.

    `building`: a connection that builds models. Their rows have no order but the one an
    ORDER BY gives, so DuckDB may write them as they come instead of buffering to keep
    the scan's order, which DuckDB's docs name as the first way to cut a large CREATE
    TABLE AS's memory (at scale l the aggregations exceeded a 3 GB memory_limit without it)."""
    con.execute("SET TimeZone = 'UTC'")
    if building:
        con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {quote_str(str(memory_limit).replace(chr(39), ''))}")
    return con


def connect(path: str = ":memory:", *, threads: int | None = None, memory_limit: str | None = None,
            building: bool = False):
    """A DuckDB connection (in memory by default), configured."""
    import duckdb

    return configure(duckdb.connect(str(path)), threads=threads, memory_limit=memory_limit, building=building)


def create_meta_schema(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")


def relation_kind(con, schema: str, name: str) -> str | None:
    """'VIEW', 'BASE TABLE', or None when `schema.name` does not exist."""
    found = con.execute("SELECT table_type FROM information_schema.tables "
                        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
                        [schema, name]).fetchone()
    return found[0] if found else None


def drop_relation(con, schema: str, name: str, *, only: str | None = None) -> None:
    """Drop `schema.name` whether it is a table or a view (nothing when absent).
    With `only` ('VIEW' or 'BASE TABLE'), drop it only when it is of that kind."""
    kind = relation_kind(con, schema, name)
    if kind is None or (only is not None and kind != only):
        return
    con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {quote_ident(schema)}.{quote_ident(name)}")


@contextlib.contextmanager
def without_pandas():
    """Keep DuckDB from importing pandas (and numpy) to bind query parameters.

    DuckDB's Python client imports pandas, when it is installed, the first time it
    binds a parameter, to check whether a value is a pandas object: 0.3 s (seconds on a
    loaded machine) for a reader or a DuckDB build that never touches pandas, in any
    environment that has it (pyspark and statsmodels bring it). Inside the block pandas
    is marked unavailable unless something already imported it, so nothing that does
    use pandas in the same process is affected."""
    if "pandas" in sys.modules:
        yield
        return
    sys.modules["pandas"] = None
    try:
        yield
    finally:
        if sys.modules.get("pandas", 0) is None:
            del sys.modules["pandas"]
