"""The Spark engine: load sources, build the models and run the data tests on Spark,
then bring the published models back into the DuckDB build file.

Everything a model reads lives in one Spark session as temporary views named
`schema__name` (spark_dialect.view_name); tables are cached, views are views.
Only the models of the default schema (the published tables) leave Spark: each
is fetched as Arrow into the build file, so the atomic publish, `top`, the
analyses and `serve` are the DuckDB engine's. A model listed under
`engine.external` is instead written by the executors as a Parquet dataset
beside the published file and read through a view (see publish_external).

Spark runs are full rebuilds: incremental models are built whole (a run where
no source, segment or model changed still publishes nothing).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
import warnings
from pathlib import Path

from ..docs import sample_text
from ..errors import ConfigError, RunError, debugging, first_line
from .spark_dialect import to_spark, view_name
from .spark_sources import SparkLoader, computed_frame

NAME = "spark"
#: always set: UTC like DuckDB's build, DuckDB's naive TIMESTAMP, no progress bars on stdout
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    # leads.metadata with a key twice is JSON to DuckDB (which reads the first, as get_json_object
    # does); Spark's JSON check (try_parse_json) refused the whole run over it
    "spark.sql.variant.allowDuplicateKeys": "true",
}
#: for a session segpipe starts (the project's engine.conf overrides them)
NEW_SESSION_CONF = {
    **SESSION_CONF,
    # fewer shuffle partitions than Spark's 200: adaptive execution splits them again where data is large
    "spark.sql.shuffle.partitions": "16",
    "spark.ui.showConsoleProgress": "false",
}
#: Spark's logging for a session segpipe starts: off (see the file)
QUIET_LOGGING = Path(__file__).with_name("log4j2.properties")


def require_pyspark() -> None:
    """Exit 2 with the install line when pyspark is missing."""
    from . import INSTALL_HINT

    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise ConfigError(f"engine spark needs pyspark, which is not installed — {INSTALL_HINT}") from None


def session(engine):
    """A Spark session for `engine` (EngineConfig); reuses the active one when there is one
    (tests share one local[2] session). Returns (session, started_here)."""
    require_pyspark()
    warnings.filterwarnings("ignore", module="pyspark")
    # pyspark logs each failing query to stderr as JSON, and py4j a traceback on the root logger for
    # a call a signal stopped (52 lines before segpipe's one); segpipe reports both in one line itself
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    if not debugging() and _from_py4j not in logging.getLogger().filters:
        logging.getLogger().addFilter(_from_py4j)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None and SparkContext._active_spark_context is not None:  # a session of another thread
        active = SparkSession.builder.getOrCreate()
    if active is not None and not engine.master.startswith("sc://"):
        _set_sql_conf(active, {**SESSION_CONF, **engine.conf})  # the others are fixed when a session starts
        return active, False
    builder = SparkSession.builder.appName("segpipe")
    if engine.master.startswith("sc://"):
        builder = builder.remote(engine.master)
    conf = {**NEW_SESSION_CONF, **engine.conf}
    quiet = not engine.master.startswith("sc://") and "PYSPARK_GATEWAY_PORT" not in os.environ
    if quiet:  # under spark-submit, its --master and logging decide; a user's own options come last and win
        builder = builder.master(engine.master)
        conf["spark.driver.extraJavaOptions"] = (f"-Dlog4j2.configurationFile={QUIET_LOGGING.as_uri()} "
                                                 + conf.get("spark.driver.extraJavaOptions", "")).strip()
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        raise ConfigError(f"engine spark: cannot start a session on {engine.master}: {first_line(exc)} — check "
                          "engine.conf in project.yml (the JVM's own lines above say which), that the master is "
                          "reachable, and that Java 17 or newer is installed (JAVA_HOME)") from None
    _set_sql_conf(spark, engine.conf)  # checked now, not by the first query (exit 1, 'unexpected')
    if not engine.master.startswith("sc://") and not quiet:
        spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def _from_py4j(record: logging.LogRecord) -> bool:
    """A logging filter: False (dropped) for what py4j logs through the root logger."""
    return f"{os.sep}py4j{os.sep}" not in record.pathname


def _set_sql_conf(spark, conf: dict) -> None:
    """Set the session's spark.sql.* settings; a value Spark refuses (`shuffle.partitions: abc`)
    is a configuration error naming its key."""
    for key, value in conf.items():
        if key.startswith("spark.sql."):
            try:
                spark.conf.set(key, value)
            except Exception as exc:
                raise ConfigError(f"engine.conf.{key} in project.yml: {first_line(exc)}") from None


class SparkBuild:
    """One build on Spark: sources, models, and the hand-over to DuckDB."""

    def __init__(self, project, progress):
        self.project = project
        self.progress = progress
        self.spark, self.started_here = session(project.engine)
        self.views: list[str] = []

    def close(self) -> None:
        for view in self.views:
            self.spark.catalog.dropTempView(view)
        self.spark.catalog.clearCache()
        if self.started_here:
            self.spark.stop()

    def load_sources(self, plan, paths) -> None:
        loader = SparkLoader(self.spark, plan.project)
        started = time.perf_counter()
        for kind, name, view, rows in loader.load_all(paths):
            self.views.append(view)
            self.progress.node(kind, name, "OK", time.perf_counter() - started, rows)
            started = time.perf_counter()
        for computed in plan.computed_sources:
            frame = computed_frame(self.spark, computed).cache()
            view = view_name(f"src.{computed.name}")
            frame.createOrReplaceTempView(view)
            self.views.append(view)
            self.progress.node("source", computed.name, "OK", time.perf_counter() - started, frame.count())
            started = time.perf_counter()

    def build_model(self, model) -> str:
        """A view stays a view; a table or incremental model is computed once and cached
        (one Spark job: the count that fills the cache). Returns the Spark SQL."""
        started = time.perf_counter()
        view = view_name(model.relation)
        shown = f"model {model.name} ({self.project.relpath(model.path)})"  # builtin:models/… or the project's file
        spark_sql = to_spark(model.sql, shown,
                             keep_order=model.materialized == "view")
        try:
            if view in self.views:
                self.spark.catalog.dropTempView(view)
            frame = self.spark.sql(spark_sql)
            rows = None
            if model.materialized != "view":
                frame = frame.cache()
                rows = frame.count()
            frame.createOrReplaceTempView(view)
        except Exception as exc:
            self.progress.node("model", model.name, "ERROR", time.perf_counter() - started)
            raise RunError(f"{shown} failed on Spark: {first_line(exc)} — "
                           "see target/compiled for the SQL that ran") from None
        self.views.append(view)
        self.progress.node("model", model.name, "OK", time.perf_counter() - started, rows)
        return spark_sql

    def run_tests(self, tests, relation_of, resolve, sample_size: int = 3):
        """docs.run_tests on Spark, with every test's count in one query (a Spark job costs
        about a second however little it reads); samples only for the tests that failed."""
        if not tests:
            return
        started = time.perf_counter()
        queries = [to_spark(test.sql(relation_of(test.model), resolve), f"{test.file}: test {test.name}")
                   for test in tests]
        union = "\nUNION ALL\n".join(f"SELECT {i} AS test, count(*) AS failing FROM ({sql})"
                                      for i, sql in enumerate(queries))
        counts = dict(self._rows(union))
        seconds = (time.perf_counter() - started) / len(tests)
        for i, test in enumerate(tests):
            sample = []
            if counts[i]:
                frame = self.spark.sql(f"SELECT * FROM ({queries[i]}) LIMIT {sample_size}")
                names = frame.columns
                shown = test.shown_columns(names)
                sample = [sample_text(shown, [row[names.index(n)] for n in shown]) for row in frame.collect()]
            yield test, counts[i], sample, seconds

    def _rows(self, spark_sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(spark_sql).collect()]

    def publish_into(self, con, model, data_types: dict) -> int:
        """Copy the model's rows into DuckDB table `model.relation` (via Arrow), with the
        column types its docs declare (`data_type:`, e.g. JSON) and Spark's local-time
        timestamps as DuckDB's naive UTC TIMESTAMP."""
        frame = self._naive_timestamps(self.spark.table(view_name(model.relation)))
        table = collect_arrow(frame, model.name)
        columns = ", ".join(_typed(c, data_types.get(c)) for c in frame.columns)
        con.register("__spark_rows", table)
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
            con.execute(f"CREATE OR REPLACE TABLE {model.relation} AS SELECT {columns} FROM __spark_rows")
        finally:
            con.unregister("__spark_rows")
        return table.num_rows

    def publish_external(self, con, model, data_types: dict, published: Path) -> Path:
        """Write the model as a Parquet dataset in a new folder beside the published file
        (`<db>.<model>.<run id>/`, partitioned by segment_id when it has one) and make
        `model.relation` a DuckDB view over it. The folder switch is the file's publish:
        readers of the old file keep the old folder, which the run after this one removes
        (publish.read_by_published)."""
        folder = published.with_name(f"{published.name}.{model.name}.{uuid.uuid4().hex[:12]}")
        frame = self._naive_timestamps(self.spark.table(view_name(model.relation)))
        writer = frame.write.mode("errorifexists")
        partition = "segment_id" if "segment_id" in frame.columns else None
        if partition:
            writer = writer.partitionBy(partition)
        writer.parquet(str(folder))
        pattern = str(folder / ("**/*.parquet" if partition else "*.parquet")).replace("'", "''")
        hive = ", hive_partitioning = true, hive_types = {'segment_id': BIGINT}" if partition else ""
        columns = ", ".join(_typed(c, data_types.get(c)) for c in frame.columns)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
        con.execute(f"CREATE OR REPLACE VIEW {model.relation} AS SELECT {columns} "
                    f"FROM read_parquet('{pattern}'{hive})")
        return folder

    @staticmethod
    def _naive_timestamps(frame):
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        for field in frame.schema.fields:
            if isinstance(field.dataType, TimestampType):  # local-time: UTC in this session
                frame = frame.withColumn(field.name, F.col(field.name).cast("timestamp_ntz"))
        return frame


def _typed(column: str, data_type: str | None) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return f"CAST({quoted} AS {data_type}) AS {quoted}" if data_type else quoted


def collect_arrow(frame, model_name: str):
    """The frame's rows on the driver, as Arrow. Spark refuses to hand the driver more
    than spark.driver.maxResultSize (1 GiB by default): at scale l (55M segment_leads
    rows) that surfaced as an unexpected Py4JJavaError after an hour of building, so it
    is said in one line with the two ways out."""
    try:
        return frame.toArrow()
    except Exception as exc:
        if "spark.driver.maxResultSize" not in str(exc):
            raise
        text = str(exc)
        detail = text[text.find("Total size"):].splitlines()[0] if "Total size" in text else first_line(exc)
        raise RunError(f"model {model_name}: its rows are more than spark.driver.maxResultSize lets the driver "
                       f"bring back into the DuckDB file ({detail}) — list it under engine.external in "
                       "project.yml (written as Parquet beside the published file), or raise "
                       "spark.driver.maxResultSize in engine.conf; nothing was published") from None
