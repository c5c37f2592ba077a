"""Load every source and seed into the build database with its declared types.

Sources land in schema `src` (the SPEC §2 tables get the contract's column
types), other seed CSVs in schema `seeds`. A source is a seed CSV, a file or
glob (CSV or Parquet), or a table of a database attached read-only (PostgreSQL,
SQLite, DuckDB); the published file keeps only the loaded copies, so BI tools
never need the sources.

Values are cast to the contract's types by the rules of source_types.py. A value
that fails its cast is reported with file, line and column, a CSV line DuckDB
cannot parse (a field too many, a quote never closed, a line past 2 MB) by its own
line (csv_files.py), and a NUL character refused. Without campaign sources, sends
come from leads.metadata (SPEC §5); its values are checked once, when the leads
load, so a bad one is reported like any other bad value rather than by a model.
"""

from __future__ import annotations

import contextlib
import functools
import re
import string
import time

import duckdb

from . import csv_files
from .connections import attach
from .errors import ConfigError, SeedError, first_line
from .project import Project, Source
from .source_types import (CONTRACT, METADATA_KEYS, NUL_HINT, accepted_forms, cannot_fail, convert, declared_types,
                           file_format, is_glob, loaded_contract, metadata_problem, metadata_value, metadata_values, nul_refusal,
                           sends_from_metadata, typed_columns)
from .sql import configure, drop_relation, quote_ident, quote_str

#: Column added to file reads when looking for a bad value, to name the file.
#: the row's place in the whole read, in _placed_rows (a name no source column takes)
ROW_COLUMN = "__segpipe_row"
FILE_COLUMN = "__segpipe_file"
#: SQL: the lead's metadata (the texts `v` of metadata_values) is a send: its sent_at is not
#: null or blank (SPEC §5; stg_sends reads it so), so the load checks only what models read
SENT = "nullif(trim(v[1]), '') IS NOT NULL"


def table_parts(table: str) -> list[str]:
    """The names in a `table` setting, 'schema.table': as SQL writes them, a name in double
    quotes keeps its dots and case ("" is a quote in it), so '"App Data"."Leads"' is two names,
    and one without is lower case (app.Leads is app.leads, as PostgreSQL folds it)."""
    names = [n.strip() for n in re.findall(r'"(?:[^"]|"")*"|[^.]+', table)]
    return [n[1:-1].replace('""', '"') if len(n) > 1 and n[0] == n[-1] == '"' else n.translate(ASCII_LOWER)
            for n in names if n]


#: SQL folds an unquoted name's ASCII letters only
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class Loader:
    """Loads sources and seeds of one project into one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, project: Project, from_metadata: bool | None = None):
        """`from_metadata`: whether the models read sends from leads.metadata (default: as
        `project` says; a run that loads only some sources passes its whole project's)."""
        self.con = con
        self.project = project
        self.sends_from_metadata = sends_from_metadata(project) if from_metadata is None else from_metadata
        self.attached: set[str] = set()
        self.originals: dict[str, str] = {}  # normalised copy of a CSV file → the file (csv_files)
        self.reloaded: set[str] = set()  # sources whose new files could not just be appended (_appends_alike)
        configure(con)  # naive text timestamps are UTC

    def load_all_timed(self, files_of=None, appends: dict[str, list[str]] | None = None):
        """Create `src.*` and `seeds.*`; yield (kind, name, rows, seconds) for each,
        kind being "source" or "seed".

        `files_of(kind, name)` gives the files a source or seed read when the run
        started (and fingerprinted): a file arriving since waits for the next
        run. `appends` maps a source name to new files whose rows are only added to
        the table copied from the last run (its other files did not change).

        With a PostgreSQL source everything loads in one transaction, so all its
        tables are read from one snapshot (REPEATABLE READ). Without one, each
        table commits on its own, which loads large files twice as fast.
        """
        self.con.execute("CREATE SCHEMA IF NOT EXISTS src; CREATE SCHEMA IF NOT EXISTS seeds")
        jobs = [("source", name, source, f"src.{quote_ident(name)}", CONTRACT.get(name, {}))
                for name, source in self.project.sources.items()]
        jobs += [("seed", name, self.project.seed_source(name), f"seeds.{quote_ident(name)}", {})
                 for name in self.project.seeds]
        connections = {s.connection.name: s.connection for s in self.project.sources.values() if s.kind == "database"}
        snapshot = any(c.type == "postgres" for c in connections.values())
        try:
            for connection in connections.values():
                self._attach(connection)  # before BEGIN: a rolled-back ATTACH is undone
            if snapshot:
                self.con.execute("BEGIN TRANSACTION")
            for kind, name, source, target, contract in jobs:
                started = time.perf_counter()
                added = (appends or {}).get(name) if kind == "source" else None
                rows = self.load(source, target, contract, files=files_of(kind, name) if files_of else None, added=added)
                yield kind, name, rows, time.perf_counter() - started
            if snapshot:
                self.con.execute("COMMIT")
        finally:
            self._rollback()
            self.detach_all()

    def load(self, source: Source, target: str, contract: dict, files: list[str] | None = None,
             added: list[str] | None = None) -> int:
        """Create `target` from the source's `files` (default: those there are now):
        contract columns cast to their types (missing optional ones as NULL), extra
        columns as they come. With `added`, insert only those files' rows into the
        existing `target`; returns rows added. A source read in place is always a
        view over all its files, so `added` is moot there."""
        if source.kind != "database" and files is None:
            files = source.paths()
        if self.reads_in_place(source):
            added = None
        where = self.where(source)
        if file_format(source) == "csv":
            self._refuse_nul(source, added or files, where)
            for file in added or files or []:
                # DuckDB reads a line with one field too many without a word (a trailing empty one
                # dropped, every value after a stray comma shifted), or sniffs it as the header
                if found := csv_files.malformed(file):
                    raise SeedError(f"{where}: cannot read: {self._shown(source, file)}line {found[0]} {found[1]}")
                if repeated := csv_files.repeated_column(file, contract):
                    raise SeedError(f"{where}: {self._shown(source, file)}line 1: the column '{repeated[0]}' is there "
                                    f"twice (columns {repeated[1]} and {repeated[2]}) — rename or remove one, segpipe "
                                    "reads one column of each name")
        try:
            return self._load(source, target, contract, files, added, where)
        except SeedError as exc:
            mixed = [] if file_format(source) != "csv" else csv_files.mixed_line_endings(exc, added or files or [])
            if not mixed:
                raise
        # DuckDB reads one line ending per file; Python's csv module reads them all
        with csv_files.normalised(mixed) as copies:
            self.originals = {copy: path for path, copy in copies.items()}
            try:
                return self._load(source, target, contract, [copies.get(f, f) for f in files or []],
                                  [copies.get(f, f) for f in added] if added else added, where)
            finally:
                self.originals = {}

    def _load(self, source: Source, target: str, contract: dict, files, added, where: str) -> int:
        raw, columns, declared, select = self._typed(source, contract, added or files, where)
        lower = {c.lower(): c for c in columns}
        if added and not self._appends_alike(target, select, raw):
            self.reloaded.add(source.name)
            return self._load(source, target, contract, files, None, where)
        if _sqlite(source):
            self._refuse_non_utf8(raw, columns, declared, lower, where)
        if self.reads_in_place(source):
            rows = self._create_view(source, target, files, select, columns, declared, lower, where)
        else:
            statement = (f"INSERT INTO {target} BY NAME SELECT {', '.join(select)} FROM {raw}" if added
                         else f"CREATE OR REPLACE TABLE {target} AS SELECT {', '.join(select)} FROM {raw}")
            try:
                self._drop_if(target, "VIEW")
                rows = self.con.execute(statement).fetchone()[0]  # those inserted, or the new table's
            except duckdb.Error as exc:
                self._rollback()  # an aborted transaction cannot run the diagnosis
                self._explain_failure(source, files, columns, declared, lower, where, exc)
        if source.kind == "database":
            self._refuse_nul_rows(target, contract, where)
        if self.sends_from_metadata and "metadata" in contract and "metadata" in lower:
            self._check_metadata(source, target, files, columns, where)
        return rows

    def _refuse_non_utf8(self, raw: str, columns: dict, declared: dict, lower: dict, where: str) -> None:
        """SeedError naming the first row of a SQLite table whose text in a column segpipe reads
        is not UTF-8 (SQLite stores any bytes as TEXT): DuckDB failed on it with 'Invalid
        unicode … in segment statistics update', naming neither row nor column."""
        read = [lower[c.lower()] for c in declared if c.lower() in lower]
        key = quote_ident(lower["id"]) if "id" in lower else None
        if found := self._first_hit(raw, key, {c: f"nullif({_not_utf8(c)}, false)" for c in read}):
            raise SeedError(f"{where}: {_row_with_id(found[0])}, column '{found[1]}': the text is not UTF-8 (Latin-1 "
                            "or Windows-1252?) — store it as UTF-8")

    def _refuse_nul_rows(self, target: str, contract: dict, where: str) -> None:
        """SeedError naming the first row of a database table whose text segpipe reads holds a NUL
        character, as a CSV's is refused (_refuse_nul): SQLite's length() and most tools stop
        at it, so 'US\\0x' looks like US and silently matches no country filter."""
        # the target has every contract column (an optional one missing is a typed NULL)
        texts = {column: f"array_to_string({quote_ident(column)}, ';')" if type_ == "VARCHAR[]" else quote_ident(column)
                 for column, (type_, _) in contract.items() if type_ in ("VARCHAR", "VARCHAR[]")}
        key = "id" if "id" in contract else None
        if found := self._first_hit(target, key, {c: f"CASE WHEN contains({v}, chr(0)) THEN {v} END"
                                                 for c, v in texts.items()}):
            row_id, column, value = found
            raise SeedError(f"{where}: {_row_with_id(row_id)}, column '{column}': cannot read {value[:80]!r} — {NUL_HINT}")

    def _first_hit(self, relation: str, key: str | None, hits: dict[str, str]) -> tuple | None:
        """(the row's `key`, the column, what its hit gave) for the first row of `relation` where
        one of `hits` (column → SQL that is NULL where the column is fine) is not NULL; None
        when there is none (or no column to look at)."""
        if not hits:
            return None
        found = self.con.execute(
            f"SELECT {f'CAST({key} AS VARCHAR)' if key else 'NULL'}, {', '.join(hits.values())} FROM {relation} "
            f"WHERE {' OR '.join(f'({hit}) IS NOT NULL' for hit in hits.values())} LIMIT 1").fetchone()
        if found is None:
            return None
        return next((found[0], column, value) for column, value in zip(hits, found[1:]) if value is not None)

    def _typed(self, source: Source, contract: dict, files, where: str):
        """The rows of `files` as stored (SQL), their columns and declared types, and the
        SELECT list typing them: what loading them and `typed_rows` both read."""
        raw = self.raw_relation(source, files=files)
        columns = self.raw_columns(source, raw, where, files)
        if len(columns) == 1 and (problem := self._malformed(source, files)):
            raise SeedError(f"{where}: cannot read: {problem}")  # DuckDB's sniffer found no delimiter fitting every row
        contract = loaded_contract(contract, self.sends_from_metadata)
        declared = declared_types(source, contract, columns, where)
        typed = functools.partial(convert, finite_times=not self.reads_in_place(source))
        extra = _utf8_or_null if _sqlite(source) else None
        return raw, columns, declared, typed_columns(columns, declared, contract, convert=typed, quote=quote_ident,
                                                     extra=extra)

    def typed_rows(self, source: Source, contract: dict, files: list[str]) -> str:
        """SQL for the rows of just `files` of a file source, typed as loading them types them:
        what an incremental run reads to judge the files it added (the views and the copied
        table hold the others' rows too). The files loaded already, so every value converts."""
        raw, *_, select = self._typed(source, contract, files, self.where(source))
        return f"SELECT {', '.join(select)} FROM {raw}"

    def _appends_alike(self, target: str, select: list[str], raw: str) -> bool:
        """Whether the table `target` has each column of the new rows, with its type: else (a new
        file with an extra column, or another type of one) appending them fails or differs from
        loading every file, as a full build does, and the caller does that instead."""
        new = self.con.execute(f"DESCRIBE SELECT {', '.join(select)} FROM {raw}").fetchall()
        have = {name.lower(): type_ for name, type_, *_ in self.con.execute(f"DESCRIBE {target}").fetchall()}
        return all(have.get(name.lower()) == type_ for name, type_, *_ in new)

    @staticmethod
    def reads_in_place(source: Source) -> bool:
        """Parquet is typed and columnar: reading it where it lies beats copying it
        (10M sends: 2.1 s to copy, 0.3 s to scan). `copy: true` keeps a copy instead."""
        return source.kind == "file" and file_format(source) == "parquet" and not source.copy

    def _create_view(self, source, target, files, select, columns, declared, lower, where) -> int:
        """`target` as a view over exactly `files`, those the run started with (a later
        file needs a new run), after checking every value converts as a copy would."""
        raw = self.raw_relation(source, files=files)
        checks = [f"({quote_ident(actual)} IS NOT NULL AND "
                  f"TRY({convert(actual, columns[actual], type_, strict=False, finite_times=False)}) IS NULL)"
                  for column, type_ in declared.items()
                  if (actual := lower.get(column.lower())) and not cannot_fail(columns[actual], type_, finite_times=False)]
        try:
            if checks and self.con.execute(f"SELECT count(*) FROM {raw} WHERE {' OR '.join(checks)}").fetchone()[0]:
                raise duckdb.ConversionException("a value does not convert")
            self._drop_if(target, "BASE TABLE")
            self.con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT {', '.join(select)} FROM {raw}")
        except duckdb.Error as exc:
            self._rollback()
            self._explain_failure(source, files, columns, declared, lower, where, exc)
        return self.con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]

    def _drop_if(self, target: str, table_type: str) -> None:
        """Drop `target` when it exists as the other kind (a source switched between copy and view)."""
        schema, name = (["main"] + [part.strip('"').replace('""', '"') for part in target.split(".", 1)])[-2:]
        drop_relation(self.con, schema, name, only=table_type)

    def where(self, source: Source) -> str:
        """How messages name a source: a seed by its file, others by name and origin."""
        return self.describe(source) if source.kind == "seed" else f"source '{source.name}' ({self.describe(source)})"

    def describe(self, source: Source) -> str:
        if source.kind == "database":
            return source.location
        return self.project.relpath(source.seed if source.kind == "seed" else source.path)

    def raw_relation(self, source: Source, file_column: str | None = None, files: list[str] | None = None) -> str:
        """SQL for the source's rows exactly as stored: CSV as text, others as typed.
        `file_column` adds a column naming each row's file (file sources only);
        `files` reads just those files of the source (default: all there are now)."""
        if source.kind == "database":
            return self._attached_table(source)
        files = source.paths() if files is None else files
        if not files:
            raise ConfigError(f"source '{source.name}': no file matches {self.describe(source)} — check 'path' in project.yml")
        target = "[" + ", ".join(quote_str(f) for f in files) + "]"
        extra = f", filename = {quote_str(file_column)}" if file_column else ""
        if file_format(source) == "parquet":
            return f"read_parquet({target}, union_by_name = true{extra})"
        # RFC 4180 quoting, as Spark reads it: a sniffed ' quote read a broken " quote as text
        return (f"read_csv({target}, all_varchar = true, header = true, quote = '\"', escape = '\"', "
                f"union_by_name = true, strict_mode = true{extra})")

    def raw_columns(self, source: Source, raw: str, where: str, files=None) -> dict[str, str]:
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
        except duckdb.CatalogException:
            if source.kind != "database":
                raise
            raise ConfigError(f"{where}: no table {source.table} in connection '{source.connection.name}' "
                              f"— check 'table' under sources.{source.name} in project.yml") from None
        except duckdb.Error as exc:
            raise SeedError(f"{where}: cannot read: {self._reason(source, exc, files)}") from None
        return {name: type_ for name, type_, *_ in rows}

    def _reason(self, source: Source, exc: Exception, files=None) -> str:
        """DuckDB's reason in one line; for a CSV, the real line at fault when there is
        one (DuckDB counts lines from the start of its buffer, quotes a 10 MB line whole,
        and when its sniffer gives up names the file "")."""
        if source.kind == "database":  # PostgreSQL's own reason, without the COPY statement DuckDB ran
            return re.sub(r'^Failed to prepare COPY ".*?;": ERROR:\s*', "", first_line(exc))
        return self._malformed(source, files, first_line(exc)) or first_line(exc)

    def _malformed(self, source: Source, files=None, reason: str = "") -> str | None:
        """'line N …' for the first line of a CSV source DuckDB cannot read, else None."""
        if file_format(source) != "csv":
            return None
        files = files or source.paths()
        long_line = csv_files.too_long_line(files, reason)
        if long_line:
            file, number, size, limit = long_line
            return (f"{self._shown(source, file)}line {number} is {size:,} bytes, more than DuckDB's maximum line "
                    f"size ({limit:,} bytes) — a field that long is not lead data; fix or remove that line")
        for file in files:
            if found := csv_files.malformed(file):
                return f"{self._shown(source, file)}line {found[0]} {found[1]}"
            if found := csv_files.not_utf8(file):
                line, column, value = found
                return (f"{self._shown(source, file)}line {line}, column '{column}': {value[:80]!r} is not UTF-8 text "
                        "(Latin-1 or Windows-1252?) — save the file as UTF-8")
        return None

    def _refuse_nul(self, source: Source, files, where: str) -> None:
        """SeedError naming the first CSV value holding a NUL character: DuckDB keeps it
        in the text (SPEC §8), where no filter matches it and BI tools cut the value short."""
        for file in files or []:
            if found := csv_files.nul_value(file):
                raise SeedError(f"{where}: {self._shown(source, file)}{nul_refusal(*found)}")

    def _shown(self, source: Source, file: str) -> str:
        """'<file> ' when the source is a glob (its name alone does not say which file), else ''."""
        return f"{self.project.relpath(self.originals.get(file, file))} " if is_glob(source) else ""

    def _explain_failure(self, source, files, columns, declared, lower, where, exc) -> None:
        """Turn a failed load into one line naming the bad value and its place:
        file and line (CSV) or row (Parquet), or the row's id (database table)."""
        raw, file_expr, key_expr = self._placed_rows(source, files, lower)
        with self._one_thread():
            for column, type_ in declared.items():
                actual = lower.get(column.lower())
                if actual is None or cannot_fail(columns[actual], type_):
                    continue
                col = quote_ident(actual)
                expr = f"TRY({convert(actual, columns[actual], type_, strict=False)})"
                try:
                    bad = self.con.execute(
                        # the value as DuckDB writes it ('-infinity', which Python would show as year 1)
                        f"SELECT file, n, key, CAST(v AS VARCHAR) FROM (SELECT {file_expr} AS file, "
                        f"{key_expr} AS key, {col} AS v, {expr} AS converted, "
                        f"{self._row_in_file(file_expr)} AS n FROM {raw}) "
                        f"WHERE v IS NOT NULL AND trim(CAST(v AS VARCHAR)) <> '' AND converted IS NULL "
                        f"ORDER BY file, key, n LIMIT 1"
                    ).fetchone()
                except duckdb.Error:
                    continue
                if bad:
                    fix = ("fix the value or change the column's type under column_types"
                           if column in source.column_types else "fix the value")
                    raise SeedError(f"{where}: {self._place(source, *bad[:3])}, column '{column}': cannot read "
                                    f"{str(bad[3])[:80]!r} as {type_} — it takes {accepted_forms(type_)}; {fix}") from None
        raise SeedError(f"{where}: cannot load: {self._reason(source, exc, files)}") from None

    def _placed_rows(self, source: Source, files, lower: dict) -> tuple[str, str, str]:
        """(the source's rows as read, SQL of the file each comes from, SQL of its id in a
        database table): what names a bad value's place, with row_number() in _one_thread."""
        by_file = source.kind != "database"
        raw = self.raw_relation(source, FILE_COLUMN if by_file else None, files)
        file_expr = quote_ident(FILE_COLUMN) if by_file else "NULL"
        id_expr = quote_ident(lower["id"]) if not by_file and "id" in lower else "NULL"
        return f"(SELECT *, row_number() OVER () AS {quote_ident(ROW_COLUMN)} FROM {raw})", file_expr, id_expr

    @staticmethod
    def _row_in_file(file_expr: str) -> str:
        """SQL of a row's number in its file (1 = the first after the header), from _placed_rows'
        ROW_COLUMN: `row_number() OVER (PARTITION BY file)` numbers a file's rows in the order
        its sort leaves them, which is not the file's (a bad value on line 3 was named line 12)."""
        row = quote_ident(ROW_COLUMN)
        return f"{row} - min({row}) OVER (PARTITION BY {file_expr}) + 1"

    @contextlib.contextmanager
    def _one_thread(self):
        """row_number() OVER () counts in read order, the files' own, only when one thread reads
        them; used only to name a bad value's line, once something failed, so speed does not matter."""
        threads = self.con.execute("SELECT current_setting('threads')").fetchone()[0]
        self.con.execute("SET threads = 1")
        try:
            yield
        finally:
            self.con.execute(f"SET threads = {int(threads)}")

    def _check_metadata(self, source: Source, target: str, files, columns: dict, where: str) -> None:
        """SeedError naming the file, line and key of the first send in the leads' metadata
        whose value the fallback cannot read (SPEC §5): models would fail on a bad time with
        a SQL error, and read a bad flag as false. One pass over the loaded table; the source
        is read again only to name the line of a bad value. (Metadata that is no JSON at all
        loads only as text under column_types; it is left to the models, as before.)"""
        problem = metadata_problem(metadata_value("v"))
        found = self.con.execute(
            f"WITH sends AS MATERIALIZED (SELECT {metadata_values('TRY_CAST(metadata AS JSON)')} AS v FROM {target}) "
            f"SELECT 1 FROM sends WHERE {SENT} AND {problem} IS NOT NULL LIMIT 1").fetchone()  # JSON parsed once
        if not found:
            return
        lower = {c.lower(): c for c in columns}
        raw, file_expr, id_expr = self._placed_rows(source, files, lower)
        values = metadata_values(f"TRY_CAST({quote_ident(lower['metadata'])} AS JSON)")
        with self._one_thread():
            file, number, row_id, key, texts = self.con.execute(
                f"SELECT file, n, id, {problem} AS bad, v FROM (SELECT {file_expr} AS file, {id_expr} AS id, "
                f"{values} AS v, {self._row_in_file(file_expr)} AS n FROM {raw}) "
                f"WHERE {SENT} AND bad IS NOT NULL ORDER BY file, id, n LIMIT 1").fetchone()
        type_, value = METADATA_KEYS[key], texts[list(METADATA_KEYS).index(key)]
        raise SeedError(f"{where}: {self._place(source, file, number, row_id)}, column 'metadata', key '{key}': "
                        f"cannot read {value[:80]!r} as {type_} — it takes {accepted_forms(type_)}; fix the value")

    def _place(self, source: Source, file, number: int, key) -> str:
        if source.kind == "database":
            return f"row with id {key}" if key is not None else f"row {number}"
        place = f"line {self._line(file, number)}" if file_format(source) == "csv" else f"row {number}"
        return f"{self._shown(source, file)}{place}" if file else place

    def _line(self, file: str, number: int) -> int:
        """The line of `file` where its record `number` starts, read with the delimiter DuckDB
        detected (a normalised copy's original as Python's csv module reads it)."""
        original = self.originals.get(file)
        dialect = {}
        if original is None:
            try:
                delimiter, skip = self.con.execute(f"SELECT Delimiter, SkipRows FROM sniff_csv({quote_str(file)}, "
                                                   "quote = '\"', escape = '\"')").fetchone()
            except duckdb.Error:
                return number + 1  # the record's number then; DuckDB did read the file
            dialect = {"delimiter": delimiter if len(delimiter) == 1 else ",", "skip": skip}
        else:  # the copy's delimiter, which is the original's (csv_files.normalised)
            dialect = {"delimiter": csv_files.header(original)[0]}
        return csv_files.record_line(original or file, number, **dialect) or number + 1

    def _attach(self, conn) -> None:
        if conn.catalog not in self.attached:
            attach(self.con, conn)
            self.attached.add(conn.catalog)

    def _attached_table(self, source: Source) -> str:
        self._attach(source.connection)
        parts = table_parts(str(source.table))
        if not 1 <= len(parts) <= 2:
            raise ConfigError(f"source '{source.name}': table {source.table} is not a table name or schema.table "
                              f"— check 'table' under sources.{source.name} in project.yml")
        return ".".join(quote_ident(p) for p in (source.connection.catalog, *parts))

    def _rollback(self) -> None:
        try:
            self.con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction open (committed, or never begun)

    def detach_all(self) -> None:
        for name in sorted(self.attached):
            self.con.execute(f"DETACH {quote_ident(name)}")
        self.attached.clear()


def _sqlite(source: Source) -> bool:
    return source.kind == "database" and source.connection.type == "sqlite"


def _row_with_id(row_id) -> str:
    """A database row as an error names it: by its id, which a table may lack or hold NULL."""
    return "a row without an id" if row_id is None else f"row with id {row_id}"


def _not_utf8(column: str) -> str:
    """SQL: true for SQLite TEXT (read as VARCHAR) whose bytes are not UTF-8."""
    col = quote_ident(column)
    return f"({col} IS NOT NULL AND TRY(decode(CAST({col} AS BLOB))) IS NULL)"


def _utf8_or_null(column: str) -> str:
    """SQL: a SQLite column segpipe does not read, NULL where its bytes are no UTF-8 text (a BLOB
    such as an image or a UUID): SPEC §2, extra columns are ignored, so one must not stop the run."""
    col = quote_ident(column)
    return f"CASE WHEN {_not_utf8(column)} THEN NULL ELSE {col} END"
