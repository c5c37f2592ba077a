"""Sources and seeds as Spark temporary views, with the same contract and type rules as DuckDB's.

A source is a Parquet or CSV file or glob (a local path or any URI Spark reads:
s3a://, hdfs://, abfss://, gs://), or a table of Spark's catalog
(`sources: {leads: {table: sales.leads}}`). As with DuckDB (sources.py): CSV
is read as text and cast to the declared type, never inferred; integers are
whole numbers only (never rounded); booleans accept true/false/t/f/1/0/yes/no; timestamps with a zone are converted to UTC and
naive ones are read as UTC; `tags` text holds `;`-separated values or a JSON
array. A missing required column or a value that does not convert is one
line naming the source, the column and the value.
"""

from __future__ import annotations

import re

from ..errors import ConfigError, SeedError, first_line
from ..project import Project, Source
from ..sources import (CONTRACT, FALSE_WORDS, INTEGER_TYPES, METADATA_KEYS, TRUE_WORDS, accepted_forms,
                       declared_types, metadata_problem, sends_from_metadata, typed_columns)
from ..sql import sql_literal
from .spark_dialect import view_name

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


def convert(column: str, raw: str, target: str, *, strict: bool = True) -> str:
    """Spark SQL turning `column` (of Spark type `raw`) into the DuckDB type `target`,
    by the rules of sources.convert; with strict=False a bad value is NULL."""
    col, raw, target = _col(column), raw.lower(), target.upper()
    text = raw.startswith(TEXT)
    if target == "VARCHAR[]":
        if text:
            cleaned = f"nullif(trim({col}), '')"
            values = (f"CASE WHEN startswith({cleaned}, '[') THEN from_json({cleaned}, 'array<string>') "
                      f"ELSE split({col}, ';') END")
        else:
            values = f"CAST({col} AS ARRAY<STRING>)"
        return f"filter(transform(coalesce({values}, array()), t -> trim(t)), t -> coalesce(t, '') <> '')"
    wanted = spark_type(target).lower()
    if raw == wanted or (target in ("VARCHAR", "JSON") and text):
        return col
    cleaned = f"nullif(trim({col}), '')" if text else col
    cast = "CAST" if strict else "TRY_CAST"
    if target == "BOOLEAN" and (text or raw in INTEGERS):
        word = f"lower(trim({col}))" if text else col
        trues, falses = (TRUE_WORDS, FALSE_WORDS) if text else ((1,), (0,))
        bad = f"raise_error(concat('not a boolean: ', CAST({col} AS STRING)))" if strict else "NULL"
        return (f"CASE WHEN {cleaned} IS NULL THEN NULL WHEN {word} IN ({', '.join(map(sql_literal, trues))}) THEN true "
                f"WHEN {word} IN ({', '.join(map(sql_literal, falses))}) THEN false ELSE {bad} END")
    if target in INTEGER_TYPES and (text or raw in ("float", "double") or raw.startswith("decimal")):
        # Spark's cast turns '1.6' (and 1.6) into 1: a wrong id, silently; only whole numbers are ids
        whole = f"{cleaned} RLIKE '^[+-]?[0-9]+$'" if text else f"{col} = floor({col})"
        bad = f"raise_error(concat('not a whole number: ', CAST({col} AS STRING)))" if strict else "NULL"
        return (f"CASE WHEN {whole} THEN {cast}({cleaned} AS {wanted.upper()}) "
                f"WHEN {cleaned} IS NULL THEN NULL ELSE {bad} END")
    if target == "TIMESTAMP" and (text or raw == "timestamp"):
        # a zone in the text (or an instant) is converted to UTC: the session's time zone
        return f"{cast}({cast}({cleaned} AS TIMESTAMP_LTZ) AS TIMESTAMP_NTZ)"
    return f"{cast}({cleaned} AS {wanted.upper()})"


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
        path = str(source.seed if source.kind == "seed" else source.path)
        fmt = source.format or ("parquet" if re.search(r"\.parquet$", path, re.IGNORECASE) else "csv")
        reader = self.spark.read
        if fmt == "parquet":
            return reader.option("mergeSchema", "true").parquet(*files)
        # RFC 4180 quoting ("" inside quotes), fields spanning lines, every value text
        return reader.csv(files, header=True, inferSchema=False, multiLine=True, escape='"',
                          mode="FAILFAST", enforceSchema=False)

    def load(self, source: Source, view: str, contract: dict, files: list[str] | None = None) -> int:
        where = self.where(source)
        try:
            raw = self.raw(source, files)
            columns = {f.name: f.dataType.simpleString() for f in raw.schema.fields}
        except ConfigError:
            raise
        except Exception as exc:  # Spark's AnalysisException, a missing URI, a bad file
            raise SeedError(f"{where}: cannot read: {first_line(exc)}") from None
        lower = {c.lower(): c for c in columns}
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
            self._explain(raw_view, columns, declared, lower, where, exc)
        if sends_from_metadata(self.project) and "metadata" in contract and "metadata" in lower:
            self._check_metadata(raw_view, lower["metadata"], where)
        frame.createOrReplaceTempView(view)
        return rows

    def _check_metadata(self, raw_view: str, column: str, where: str) -> None:
        """The first send in leads.metadata whose value the fallback cannot read, with its
        file and key, by sources.Loader's rule (SPEC §5); Spark's own cast judges the times,
        as it is Spark's cast that reads them in the models."""
        value = lambda key: f"get_json_object(CAST({_col(column)} AS STRING), '$.{key}')"  # noqa: E731
        texts = ", ".join(f"{sql_literal(key)}, {value(key)}" for key in METADATA_KEYS)
        found = self.spark.sql(
            f"SELECT file, key, texts FROM (SELECT input_file_name() AS file, {value('sent_at')} AS sent_at, "
            f"{metadata_problem(value, 'TIMESTAMP_LTZ')} AS key, map({texts}) AS texts FROM {raw_view}) "
            "WHERE sent_at IS NOT NULL AND key IS NOT NULL LIMIT 1").collect()
        if found:
            file, key, texts = found[0]
            place = f" in {file.removeprefix('file://')}" if file else ""
            type_ = METADATA_KEYS[key]
            raise SeedError(f"{where}: column 'metadata', key '{key}'{place}: cannot read {texts[key][:80]!r} as "
                            f"{type_} — it takes {accepted_forms(type_)}; fix the value")


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
