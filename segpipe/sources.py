"""Load every source and seed into the build database with its declared types.

Sources land in schema `src` (the SPEC §2 tables get the contract's column
types), other seed CSVs in schema `seeds`. CSV values are read as text and cast
to the declared type, never inferred, so "00123" stays text and "SAT" never
becomes a date. A value that fails its cast is reported with file, line and
column. Booleans accept true/false/t/f/1/0/yes/no; timestamps with a zone are
converted to UTC and naive ones are read as UTC.
"""

from __future__ import annotations

import glob
import os
import re
import time

import duckdb

from .errors import ConfigError, SeedError
from .project import Project, Source

#: SPEC §2: column → (type, required). Extra columns are kept as they come.
CONTRACT = {
    "workspaces": {"id": ("BIGINT", True), "name": ("VARCHAR", True)},
    "leads": {
        "id": ("BIGINT", True), "workspace_id": ("BIGINT", True), "email": ("VARCHAR", True),
        "source": ("VARCHAR", True), "score": ("DOUBLE", True), "country": ("VARCHAR", True),
        "role": ("VARCHAR", True), "company_size": ("VARCHAR", True), "industry": ("VARCHAR", True),
        "tags": ("VARCHAR[]", True), "created_at": ("TIMESTAMP", True), "metadata": ("JSON", False),
    },
    "campaigns": {
        "id": ("BIGINT", True), "workspace_id": ("BIGINT", True), "name": ("VARCHAR", True),
        "segment_id": ("BIGINT", False), "sent_at": ("TIMESTAMP", True),
    },
    "campaign_leads": {
        "id": ("BIGINT", True), "campaign_id": ("BIGINT", True), "lead_id": ("BIGINT", True),
        "sent": ("BOOLEAN", True), "opened": ("BOOLEAN", True), "replied": ("BOOLEAN", True),
        "bounced": ("BOOLEAN", True), "clicked": ("BOOLEAN", False), "converted": ("BOOLEAN", False),
        "sent_at": ("TIMESTAMP", False), "replied_at": ("TIMESTAMP", False), "variant": ("VARCHAR", False),
    },
}
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
TEXT_TYPES = ("VARCHAR", "JSON")


def quote_ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def convert(column: str, raw_type: str, target: str) -> str:
    """SQL turning `column` of raw_type into target; strict, so a bad value fails the load."""
    col = quote_ident(column)
    raw_type, target = raw_type.upper(), target.upper()
    if raw_type == target:
        return col
    text = raw_type in TEXT_TYPES
    cleaned = f"nullif(trim({col}), '')" if text else col
    if target == "BOOLEAN" and text:
        return (f"CASE WHEN {cleaned} IS NULL THEN NULL "
                f"WHEN lower(trim({col})) IN {tuple(TRUE_WORDS)} THEN true "
                f"WHEN lower(trim({col})) IN {tuple(FALSE_WORDS)} THEN false "
                f"ELSE error('not a boolean: ' || {col}) END")
    if target == "TIMESTAMP" and (text or raw_type.startswith("TIMESTAMP WITH")):
        return f"CAST(CAST({cleaned} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if target == "VARCHAR[]" and text:
        return (f"CASE WHEN {cleaned} IS NULL THEN NULL ELSE "
                f"list_filter(list_transform(string_split({col}, ';'), t -> trim(t)), t -> t <> '') END")
    return f"CAST({cleaned} AS {target})"


class Loader:
    """Loads sources and seeds of one project into one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, project: Project):
        self.con = con
        self.project = project
        self.attached: set[str] = set()

    def load_all_timed(self):
        """Create `src.*` and `seeds.*`; yield ("source:name", rows, seconds) for each."""
        self.con.execute("CREATE SCHEMA IF NOT EXISTS src; CREATE SCHEMA IF NOT EXISTS seeds")
        jobs = [(f"source:{name}", source, f"src.{quote_ident(name)}", CONTRACT.get(name, {}))
                for name, source in self.project.sources.items()]
        jobs += [(f"seed:{name}", Source(name=name, seed=path, column_types=self.project.seed_column_types.get(name, {})),
                  f"seeds.{quote_ident(name)}", {}) for name, path in self.project.seeds.items()]
        try:
            for node, source, target, contract in jobs:
                started = time.perf_counter()
                rows = self.load(source, target, contract)
                yield node, rows, time.perf_counter() - started
        finally:
            self.detach_all()

    def load(self, source: Source, target: str, contract: dict) -> int:
        where = f"source '{source.name}' ({self.describe(source)})" if source.kind != "seed" else self.describe(source)
        raw = self.raw_relation(source)
        columns = self.raw_columns(raw, where)
        declared = {**{c: t for c, (t, _) in contract.items()}, **source.column_types}
        lower = {c.lower(): c for c in columns}
        select = []
        for column, (_, required) in contract.items():
            if column.lower() not in lower and required:
                raise ConfigError(f"{where}: missing required column '{column}' — the {source.name} table needs columns {', '.join(contract)}")
        declared_by_lower = {c.lower(): (c, t) for c, t in declared.items()}
        for actual, raw_type in columns.items():  # the file's column order
            if actual.lower() in declared_by_lower:
                column, type_ = declared_by_lower[actual.lower()]
                select.append(f"{convert(actual, raw_type, type_)} AS {quote_ident(column)}")
            else:
                select.append(quote_ident(actual))
        for column, type_ in declared.items():
            if column.lower() not in lower and column in contract:
                select.append(f"CAST(NULL AS {type_}) AS {quote_ident(column)}")
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {', '.join(select)} FROM {raw}")
        except duckdb.Error as exc:
            self._explain_failure(source, raw, columns, declared, lower, where, exc)
        return self.con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]

    def describe(self, source: Source) -> str:
        if source.kind == "file":
            return os.path.relpath(source.path, self.project.root) if str(source.path).startswith(str(self.project.root)) else str(source.path)
        return self.project.relpath(source.seed) if source.kind == "seed" else source.location

    def raw_relation(self, source: Source) -> str:
        """SQL for the source's rows exactly as stored: CSV as text, others as typed."""
        if source.kind == "database":
            return self._attached_table(source)
        path = str(source.seed if source.kind == "seed" else source.path)
        if not glob.glob(path):
            raise ConfigError(f"source '{source.name}': no file matches {self.describe(source)} — check 'path' in project.yml")
        file_format = source.format or ("parquet" if re.search(r"\.parquet$", path) else "csv")
        if file_format == "parquet":
            return f"read_parquet({quote_str(path)}, union_by_name = true)"
        return (f"read_csv({quote_str(path)}, all_varchar = true, header = true, "
                f"union_by_name = true, strict_mode = true)")

    def raw_columns(self, raw: str, where: str) -> dict[str, str]:
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
        except duckdb.Error as exc:
            raise SeedError(f"{where}: cannot read: {_first_line(exc)}") from None
        return {name: type_ for name, type_, *_ in rows}

    def _explain_failure(self, source, raw, columns, declared, lower, where, exc) -> None:
        """Turn a failed load into one line naming the line (or row), column and value."""
        is_csv = raw.startswith("read_csv")
        for column, type_ in declared.items():
            actual = lower.get(column.lower())
            if actual is None or columns[actual].upper() == type_.upper():
                continue
            expr = convert(actual, columns[actual], type_).replace(f"error('not a boolean: ' || {quote_ident(actual)})", "NULL")
            col = quote_ident(actual)
            try:
                bad = self.con.execute(
                    f"SELECT n, v FROM (SELECT row_number() OVER () AS n, {col} AS v, TRY({expr}) AS converted FROM {raw}) "
                    f"WHERE v IS NOT NULL AND trim(CAST(v AS VARCHAR)) <> '' AND converted IS NULL ORDER BY n LIMIT 1"
                ).fetchone()
            except duckdb.Error:
                continue
            if bad:
                place = f"line {bad[0] + 1}" if is_csv else f"row {bad[0]}"
                raise SeedError(f"{where}: {place}, column '{column}': cannot read {str(bad[1])!r} as {type_} — fix the value or declare the column's type under column_types") from None
        raise SeedError(f"{where}: cannot load: {_first_line(exc)}") from None

    def _attached_table(self, source: Source) -> str:
        conn = source.connection
        if conn.name not in self.attached:
            attach(self.con, conn)
            self.attached.add(conn.name)
        parts = [p for p in str(source.table).split(".") if p]
        return ".".join(quote_ident(p) for p in (conn.name, *parts))

    def detach_all(self) -> None:
        for name in sorted(self.attached):
            self.con.execute(f"DETACH {quote_ident(name)}")
        self.attached.clear()


def attach(con: duckdb.DuckDBPyConnection, conn) -> None:
    """ATTACH an external database read-only, loading its extension from the PyPI package."""
    from .extensions import load_extension

    if conn.type == "postgres":
        dsn = os.environ.get(conn.env or "")
        if not dsn:
            raise ConfigError(f"connection '{conn.name}': environment variable {conn.env} is not set — export it with the PostgreSQL connection string")
        load_extension(con, "postgres")
        target, options = dsn, "TYPE postgres, READ_ONLY"
    elif conn.type == "sqlite":
        load_extension(con, "sqlite")
        target, options = str(conn.path), "TYPE sqlite, READ_ONLY"
    else:
        target, options = str(conn.path), "READ_ONLY"
    if conn.type != "postgres" and not os.path.exists(target):
        raise ConfigError(f"connection '{conn.name}': no database file at {target}")
    try:
        con.execute(f"ATTACH {quote_str(target)} AS {quote_ident(conn.name)} ({options})")
    except duckdb.Error as exc:
        raise ConfigError(f"connection '{conn.name}' ({_describe_target(conn, target)}): cannot connect: {_first_line(exc)}") from None


def _describe_target(conn, target: str) -> str:
    """Host and database of a connection string, never its password."""
    if conn.type != "postgres":
        return target
    host = re.search(r"(?:host=|@)([^\s:/?]+)", target)
    port = re.search(r"(?:port=|:)(\d{2,5})\b", target)
    return f"host {host.group(1) if host else 'localhost'}" + (f" port {port.group(1)}" if port else "")


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def write_segments_table(con: duckdb.DuckDBPyConnection, segments) -> None:
    """`src.segments` from validated segments, every value a bound parameter."""
    con.execute("CREATE SCHEMA IF NOT EXISTS src")
    con.execute("CREATE OR REPLACE TABLE src.segments (segment_id BIGINT, segment_name VARCHAR, "
                "workspace_id BIGINT, description VARCHAR, filters JSON)")
    rows = [(s.id, s.name, s.workspace_id, s.description, s.filters_json) for s in segments]
    if rows:
        con.executemany("INSERT INTO src.segments VALUES (?, ?, ?, ?, ?)", rows)


def read_segments_table(project: Project, source: Source):
    """Segments kept in a database table (id, workspace_id, name, description, filters)."""
    from .segments import segments_from_rows

    con = duckdb.connect()
    try:
        loader = Loader(con, project)
        raw = loader.raw_relation(source)
        where = f"source 'segments' ({loader.describe(source)})"
        columns = {c.lower(): c for c in loader.raw_columns(raw, where)}
        wanted = ("id", "workspace_id", "name", "description", "filters")
        missing = [c for c in wanted if c not in columns and c not in ("workspace_id", "description", "filters")]
        if missing:
            raise ConfigError(f"{where}: missing required column '{missing[0]}' — segments need columns {', '.join(wanted)}")
        select = ", ".join(f"CAST({quote_ident(columns[c])} AS VARCHAR)" if c == "filters" and c in columns
                           else quote_ident(columns[c]) if c in columns else "NULL" for c in wanted)
        rows = con.execute(f"SELECT {select} FROM {raw} ORDER BY 1").fetchall()
    finally:
        con.close()
    return segments_from_rows(rows, where)
