"""Sources and seeds as Spark temporary views, with the same contract and type rules as DuckDB's.

A source is a Parquet or CSV file or glob (a local path or any URI Spark reads:
s3a://, hdfs://, abfss://, gs://), or a table of Spark's catalog
(`sources: {leads: {table: sales.leads}}`). As with DuckDB (sources.py): CSV
is read as text and cast to the declared type, never inferred; integers are
whole numbers only (never rounded); booleans accept true/false/t/f/1/0/yes/no; timestamps with a zone are converted to UTC and
naive ones are read as UTC; `tags` text holds `;`-separated values or a JSON
array; numbers and times take the text forms of source_types.NUMBER_FORM and
TIMESTAMP_FORM before Spark's cast reads them, so both engines take the same
values. A missing required column or a value that does not convert is one
line naming the source, the column and the value, with the file and line
for local files as DuckDB's messages name them.
"""

from __future__ import annotations

import functools
from urllib.parse import unquote, urlparse

from .. import csv_files
from ..errors import ConfigError, SeedError, first_line
from ..project import Project, Source
from ..source_types import (CONTRACT, FALSE_WORDS, FRACTION_TYPES, INTEGER_FORM, INTEGER_TYPES, METADATA_KEYS,
                            NUMBER_FORM, TIMESTAMP_FORM, TRUE_WORDS, accepted_forms, declared_types, file_format,
                            in_float_range, is_glob, loaded_contract, metadata_problem, nul_refusal, sends_from_metadata,
                            typed_columns)
from ..sql import SPACE_SEPARATORS, sql_literal
from .spark_dialect import later_reading, view_name

TEXT = ("string", "varchar", "char")
INTEGERS = ("tinyint", "smallint", "int", "bigint")


def spark_type(duckdb_type: str) -> str:
    """A DuckDB type name (the contract's, or a column_types entry) in Spark's spelling."""
    import sqlglot

    from .spark_dialect import SegpipeSpark

    if duckdb_type.upper() == "TIMESTAMP":
        return "TIMESTAMP_NTZ"
    if duckdb_type.upper() == "JSON":
        return "STRING"
    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect=SegpipeSpark)


def _col(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def full_match(text: str, pattern: str) -> str:
    """Spark SQL: whether all of `text` matches `pattern` (one of sources' backslash-free forms).
    \\z, not $, which also matches before a final newline; \\\\ in the literal is one \\ to Spark."""
    return f"{text} RLIKE '^(?:{pattern})\\\\z'"


def _is_infinite(number: str) -> str:
    """Spark SQL: whether a DOUBLE is ±infinity (Spark has no isinf())."""
    return f"abs({number}) = CAST('Infinity' AS DOUBLE)"


def _refused(col: str, what: str, strict: bool) -> str:
    return f"raise_error(concat('not {what}: ', CAST({col} AS STRING)))" if strict else "NULL"


def convert(column: str, raw: str, target: str, *, strict: bool = True) -> str:
    """Spark SQL turning `column` (of Spark type `raw`) into the DuckDB type `target`,
    by the rules of source_types.convert; with strict=False a bad value is NULL."""
    col, raw, target = _col(column), raw.lower(), target.upper()
    text = raw.startswith(TEXT)
    cleaned = f"nullif(trim({col}), '')" if text else col
    if target == "VARCHAR[]":
        if not text:
            return f"filter(transform(coalesce(CAST({col} AS ARRAY<STRING>), array()), t -> trim(t)), t -> t <> '')"
        # text that starts with [ is a JSON array, or a mistake DuckDB's cast refuses too; from_json says NULL.
        # By DuckDB's rules: a trailing comma is read, single quotes are no JSON (Python's ['a', 'b'])
        json = f"regexp_replace({cleaned}, '([^\\\\[\\\\s,])\\\\s*,\\\\s*]$', '$1]')"
        parsed = f"from_json({json}, 'array<string>', map('allowSingleQuotes', 'false'))"
        values = f"CASE WHEN startswith({cleaned}, '[') THEN {parsed} ELSE split({col}, ';') END"
        listed = f"filter(transform(coalesce({values}, array()), t -> trim(t)), t -> coalesce(t, '') <> '')"
        return (f"CASE WHEN startswith({cleaned}, '[') AND ({parsed} IS NULL OR NOT endswith({cleaned}, ']')) THEN {_refused(col, 'a JSON array', strict)} "
                f"ELSE {listed} END")
    if target == "JSON" and text:  # kept as text, as DuckDB keeps it, once it parses
        return (f"CASE WHEN {cleaned} IS NULL OR try_parse_json({cleaned}) IS NOT NULL OR {cleaned} = 'null' "
                f"THEN {cleaned} ELSE {_refused(col, 'JSON', strict)} END")
    wanted = spark_type(target).lower()
    if raw == wanted or (target == "VARCHAR" and text):
        return col
    cast = "CAST" if strict else "TRY_CAST"
    if target == "BOOLEAN" and (text or raw in INTEGERS or raw in ("float", "double") or raw.startswith("decimal")):
        # numbers only 0/1, as source_types.convert: Spark's cast reads 2.5 or -1 as true
        word = f"lower(trim({col}))" if text else col
        trues, falses = (TRUE_WORDS, FALSE_WORDS) if text else ((1,), (0,))
        bad = _refused(col, "a boolean", strict)
        return (f"CASE WHEN {cleaned} IS NULL THEN NULL WHEN {word} IN ({', '.join(map(sql_literal, trues))}) THEN true "
                f"WHEN {word} IN ({', '.join(map(sql_literal, falses))}) THEN false ELSE {bad} END")
    if target in INTEGER_TYPES and (text or raw in ("float", "double") or raw.startswith("decimal")):
        # Spark's cast turns '1.6' (and 1.6) into 1: a wrong id, silently; only whole numbers are ids
        whole = full_match(col, INTEGER_FORM) if text else f"{col} = floor({col})"
        digits = f"CASE WHEN contains({cleaned}, '.') THEN split_part({cleaned}, '.', 1) ELSE {cleaned} END" if text else cleaned
        return _checked(col, cleaned, whole, f"{cast}({digits} AS {wanted.upper()})", "a whole number", strict)
    # a zone in the text (or an instant) is converted to UTC: the session's time zone
    zoned = f"{cast}({cast}({cleaned} AS TIMESTAMP_LTZ) AS TIMESTAMP_NTZ)"
    if target == "TIMESTAMP" and text:  # the forms DuckDB takes too (source_types.TIMESTAMP_FORM)
        instant = later_reading(f"{cast}({cleaned} AS TIMESTAMP_LTZ)", cleaned)  # a repeated hour as DuckDB reads it
        return _checked(col, cleaned, full_match(col, TIMESTAMP_FORM), f"{cast}({instant} AS TIMESTAMP_NTZ)",
                        "a time", strict)
    if target == "TIMESTAMP" and raw == "timestamp":
        return zoned
    if target in FRACTION_TYPES and text:  # Spark's cast reads '1.5d' and '0x1p3', DuckDB's does not
        form = f"{full_match(col, NUMBER_FORM)} AND {in_float_range(col, cleaned, _is_infinite)}"
        return _checked(col, cleaned, form, f"{cast}({cleaned} AS {wanted.upper()})", "a number", strict)
    return f"{cast}({cleaned} AS {wanted.upper()})"


def _checked(col: str, cleaned: str, form: str, cast: str, what: str, strict: bool) -> str:
    """Spark SQL: `cast` when `form` holds, NULL for blank text, else an error (strict) or NULL."""
    return f"CASE WHEN {form} THEN {cast} WHEN {cleaned} IS NULL THEN NULL ELSE {_refused(col, what, strict)} END"


class SparkLoader:
    """Creates the view `src__<name>` (or `seeds__<name>`) of each source and seed."""

    def __init__(self, spark, project: Project):
        self.spark = spark
        self.project = project

    def load_all(self, paths: dict | None = None):
        """Yield (kind, name, view, rows) as each source and seed is loaded; `paths` maps a
        NodeId to the files the run fingerprinted (a file arriving since waits for the next run)."""
        from ..changes import NodeId

        jobs = [("source", name, source, f"src.{name}", CONTRACT.get(name, {}))
                for name, source in self.project.sources.items()]
        jobs += [("seed", name, self.project.seed_source(name), f"seeds.{name}", {}) for name in self.project.seeds]
        for kind, name, source, relation, contract in jobs:
            view = view_name(relation)
            yield kind, name, view, self.load(source, view, contract, (paths or {}).get(NodeId(kind, name)))

    def where(self, source: Source) -> str:
        if source.kind == "seed":
            return self.project.relpath(source.seed)
        origin = source.table if source.kind == "table" else (
            source.path if source.is_uri else self.project.relpath(source.path))
        return f"source '{source.name}' ({origin})"

    def raw(self, source: Source, files: list[str] | None):
        """The source's rows as stored: CSV all text, Parquet and tables as typed."""
        where = self.where(source)
        if source.kind == "database":
            raise ConfigError(f"{where}: engine spark reads files and Spark tables, not connection "
                              f"'{source.connection.name}' — export the table to Parquet, or run with --engine duckdb")
        if source.kind == "table":
            return self.spark.table(source.table)
        if source.is_uri:
            files = [source.path]
        elif files is None:
            files = source.paths()
        if not files:
            raise ConfigError(f"{where}: no file matches — check 'path' in project.yml")
        reader = self.spark.read
        if file_format(source) == "parquet":
            return reader.option("mergeSchema", "true").parquet(*files)
        # RFC 4180 quoting ("" inside quotes), fields spanning lines, every value text; each
        # file's delimiter (a ';' export), as DuckDB's sniffer finds it. Files of a glob are
        # matched by column name, as DuckDB's union_by_name reads them: one Spark reader takes
        # the first file's header for all and fails on a file whose columns are in another
        # order (or has one more or less), which DuckDB loads
        local = self._local_csv(source, files)
        groups: dict[tuple, list[str]] = {}
        for file in local:
            groups.setdefault(csv_files.header(file), []).append(file)
        frames = [reader.csv(group, header=True, inferSchema=False, multiLine=True, escape='"', mode="FAILFAST",
                             enforceSchema=False, sep=sep)
                  for (sep, _), group in (groups.items() if local else [((",", ()), files)])]
        return functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)

    def load(self, source: Source, view: str, contract: dict, files: list[str] | None = None) -> int:
        where = self.where(source)
        local = self._local_csv(source, files)
        for file in local:  # as sources.Loader refuses it: Spark keeps a NUL byte in the text
            if found := csv_files.nul_value(file):
                raise SeedError(f"{where}: {self._shown(source, file)}{nul_refusal(*found)}")
            if found := csv_files.malformed(file):  # as sources.Loader refuses it: a field too many
                raise SeedError(f"{where}: cannot read: {self._shown(source, file)}line {found[0]} {found[1]}")
        try:
            raw = self.raw(source, files)
            columns = {f.name: f.dataType.simpleString() for f in raw.schema.fields}
        except ConfigError:
            raise
        except Exception as exc:  # Spark's AnalysisException, a missing URI, a bad file
            raise SeedError(f"{where}: cannot read: {first_line(exc)}") from None
        lower = {c.lower(): c for c in columns}
        contract = loaded_contract(contract, sends_from_metadata(self.project))
        declared = declared_types(source, contract, columns, where)
        select = typed_columns(columns, declared, contract, convert=convert, quote=_col, type_name=spark_type)
        raw_view = f"{view}__raw"
        raw.createOrReplaceTempView(raw_view)
        frame = self.spark.sql(f"SELECT {', '.join(select)} FROM {raw_view}")
        if source.kind == "seed" or (source.kind == "file" and not str(files or source.path).lower().endswith("parquet")):
            frame = frame.cache()  # text is parsed once, not by every model reading it
        try:
            rows = frame.count()
        except Exception as exc:
            frame.unpersist()
            self._explain(source, local, raw_view, columns, declared, lower, where, exc)
        if sends_from_metadata(self.project) and "metadata" in contract and "metadata" in lower:
            self._check_metadata(source, raw_view, lower["metadata"], where)
        frame.createOrReplaceTempView(view)
        return rows

    def _local_csv(self, source: Source, files) -> list[str]:
        """The source's CSV files on this machine (those Python can read to name a line)."""
        if source.kind not in ("seed", "file") or source.is_uri or file_format(source) != "csv":
            return []
        return list(files) if files is not None else source.paths()

    def _explain(self, source: Source, local, raw_view, columns, declared, lower, where, exc) -> None:
        """SeedError naming the first value that does not convert, by file, line and column as
        sources.Loader does; or the line of a local CSV file Spark could not parse at all."""
        for file in local:
            if found := csv_files.malformed(file):
                raise SeedError(f"{where}: cannot read: {self._shown(source, file)}line {found[0]} {found[1]}") from None
        for column, type_ in declared.items():
            actual = lower.get(column.lower())
            if actual is None:
                continue
            try:
                bad = self._first(raw_view, f"CAST({_col(actual)} AS STRING)",
                                  f"__v IS NOT NULL AND trim(__v) <> '' AND "
                                  f"({convert(actual, columns[actual], type_, strict=False)}) IS NULL")
            except Exception:
                continue
            if bad:
                file, number, value, _ = bad
                fix = ("fix the value or change the column's type under column_types"
                       if column in source.column_types else "fix the value")
                raise SeedError(f"{where}: {self._place(source, file, number)}column '{column}': cannot read "
                                f"{value[:80]!r} as {type_} — it takes {accepted_forms(type_)}; {fix}") from None
        raise SeedError(f"{where}: cannot load: {first_line(exc)}") from None

    def _first(self, raw_view: str, value: str, condition: str, extra: str = "NULL"):
        """(file, record number in it, value, extra) of the first row of `raw_view`, in file
        order, meeting `condition` (SQL over the row's columns and `__v`, the `value`), else
        None. A file is read in order, so its rows' monotonically_increasing_id rise too.
        A plain scan says first whether there is such a row: the numbering sorts every row
        of the source, and on a load with nothing wrong (the metadata check) there is none."""
        if not self.spark.sql(f"SELECT 1 FROM (SELECT *, {value} AS __v FROM {raw_view}) WHERE {condition} LIMIT 1").collect():
            return None
        found = self.spark.sql(
            f"SELECT __file, __n, __v, __x FROM (SELECT *, row_number() OVER (PARTITION BY __file ORDER BY __id) "
            f"AS __n FROM (SELECT *, input_file_name() AS __file, monotonically_increasing_id() AS __id, "
            f"{value} AS __v, {extra} AS __x FROM {raw_view})) WHERE {condition} ORDER BY __file, __n LIMIT 1").collect()
        return tuple(found[0]) if found else None

    def _place(self, source: Source, file: str | None, number: int) -> str:
        """'[<file> ]line N, ' for a local CSV file, as sources.Loader says it; '<file>, ' for others."""
        path = _local_path(file)
        if path and file_format(source) == "csv":
            return f"{self._shown(source, path)}line {csv_files.record_line(path, number) or number + 1}, "
        return f"{path or file} row {number}, " if file else ""

    def _shown(self, source: Source, path: str) -> str:
        """'<file> ' when the source is a glob (its name alone does not say which file), else ''."""
        return f"{self.project.relpath(path)} " if is_glob(source) else ""

    def _check_metadata(self, source: Source, raw_view: str, column: str, where: str) -> None:
        """The first send in leads.metadata whose value the fallback cannot read, with its
        file, line and key, by sources.Loader's rule (SPEC §5); Spark's own cast judges the
        times, as it is Spark's cast that reads them in the models."""
        value = lambda key: f"get_json_object(CAST({_col(column)} AS STRING), '$.{key}')"  # noqa: E731
        texts = ", ".join(f"{sql_literal(key)}, {value(key)}" for key in METADATA_KEYS)
        problem = metadata_problem(value, "TIMESTAMP_LTZ", full_match)
        sent = f"nullif(trim(BOTH '{SPACE_SEPARATORS}' FROM {value('sent_at')}), '') IS NOT NULL"  # as DuckDB's trim()
        found = self._first(raw_view, problem, f"{sent} AND __v IS NOT NULL", f"map({texts})")
        if found:
            file, number, key, texts = found
            type_ = METADATA_KEYS[key]
            raise SeedError(f"{where}: {self._place(source, file, number)}column 'metadata', key '{key}': cannot read "
                            f"{texts[key][:80]!r} as {type_} — it takes {accepted_forms(type_)}; fix the value")


def _local_path(file: str | None) -> str | None:
    """The local path of a file:// URI Spark names (input_file_name), else None."""
    parsed = urlparse(file or "")
    return unquote(parsed.path) if parsed.scheme == "file" else None


def computed_frame(spark, computed):
    """A source the product computes (the segments): written by its own `write` into a
    scratch DuckDB, handed to Spark as Arrow — values as data, never SQL text. JSON
    columns become text, as Spark has no JSON type."""
    import duckdb

    con = duckdb.connect()
    try:
        computed.write(con)
        columns = con.execute(f"DESCRIBE src.{computed.name}").fetchall()
        select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' if t == "JSON" else f'"{c}"' for c, t, *_ in columns)
        table = con.execute(f"SELECT {select} FROM src.{computed.name}").fetch_arrow_table()
    finally:
        con.close()
    if table.num_rows == 0:  # Spark cannot take the schema of an empty Arrow table everywhere
        from pyspark.sql.pandas.types import from_arrow_schema

        return spark.createDataFrame([], from_arrow_schema(table.schema))
    return spark.createDataFrame(table)
