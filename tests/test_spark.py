"""engine: spark publishes the same rows as engine: duckdb (SPEC §11).

Each case builds one project twice — DuckDB into duck.duckdb, Spark (the shared
local[2] session of conftest_spark.py) into spark.duckdb — and compares every
published table: the same tables, the same column types, the same rows. The
DuckDB build is itself checked against the plain-Python oracle elsewhere
(test_pipeline.py, test_membership.py); here it is the reference for Spark.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from typer.testing import CliRunner

from segpipe.cli import app
from tests.conftest import REPO, make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS

SPARK = {"type": "spark", "master": "local[2]"}


def published(db: Path) -> dict[str, tuple[list, list]]:
    """table → (its (column, type) pairs, its rows sorted) for every table BI tools see, and
    the internal ones the commands read (`internal.<name>`)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] if r[1] == "main" else f"{r[1]}.{r[0]}" for r in con.execute(
            "SELECT table_name, table_schema FROM information_schema.tables "
            "WHERE table_schema IN ('main', 'internal') ORDER BY 2, 1").fetchall()]
        quoted = {t: ".".join(f'"{part}"' for part in t.split(".")) for t in tables}
        return {t: ([tuple(r[:2]) for r in con.execute(f"DESCRIBE {quoted[t]}").fetchall()],
                    sorted(con.execute(f"SELECT * FROM {quoted[t]}").fetchall(), key=repr)) for t in tables}
    finally:
        con.close()


def assert_same(duck: dict, spark: dict) -> None:
    assert sorted(spark) == sorted(duck)
    for table, (columns, rows) in duck.items():
        spark_columns, spark_rows = spark[table]
        if table.startswith("internal."):  # not the published contract: names, not types (Spark has no USMALLINT)
            spark_columns, columns = [c for c, _ in spark_columns], [c for c, _ in columns]
        assert spark_columns == columns, table
        assert len(spark_rows) == len(rows), table
        for want, got in zip(rows, spark_rows):
            for a, b in zip(want, got):
                if isinstance(a, float) and isinstance(b, float):
                    assert math.isclose(a, b, rel_tol=1e-12), (table, want, got)
                else:
                    assert a == b, (table, want, got)


def build_both(cli, root: Path, *args: str, spark_sources: dict | None = None) -> tuple[dict, dict]:
    """Build with DuckDB, then with Spark (reading `spark_sources` instead where given)."""
    for engine, db in (("duckdb", "duck.duckdb"), ("spark", "spark.duckdb")):
        if engine == "spark" and spark_sources:
            config = yaml.safe_load((root / "project.yml").read_text())
            config["sources"].update(spark_sources)
            (root / "project.yml").write_text(yaml.safe_dump(config))
        result = cli("run", "--project-dir", root, "--engine", engine, "--db", root / db, *args)
        assert result.exit_code == 0, result.stdout + result.stderr
    return published(root / "duck.duckdb"), published(root / "spark.duckdb")


def edge_project(root: Path, attribution: str) -> Path:
    return make_project(root, leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        project={"vars": {"days": 30, "attribution": attribution}, "engine": SPARK})


@pytest.fixture(scope="module")
def edge_builds(spark, tmp_path_factory):
    """attribution → (project, DuckDB tables, Spark tables), each built once for the module."""
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    builds = {}
    for attribution in ("matching", "campaign"):
        root = edge_project(tmp_path_factory.mktemp(attribution) / "p", attribution)
        builds[attribution] = (root, *build_both(cli, root, "--as-of", AS_OF.isoformat()))
    return builds


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
def test_edge_cases_publish_the_same_rows(edge_builds, attribution):
    root, duck, on_spark = edge_builds[attribution]
    assert_same(duck, on_spark)
    # the hand-made cases really are in there: folding, the injection-looking segment
    segments = {row[0]: row for row in on_spark["segments"][1]}
    assert segments[5][1] == "Quote ' \\ -- ; {{ 7*7 }} segment"
    assert json.loads(segments[5][4]) == {"sources": ["o'brien; --"], "tags": ["{{ 7*7 }}"]}
    members = {(s, lead) for s, lead, _ in on_spark["segment_leads"][1]}
    assert (5, 9) in members and (4, 3) not in members  # blank email fails has_email
    assert {lead for s, lead in members if s == 1} == {1, 2, 8}  # " us", "saas ", "ceo": folded


def test_metadata_fallback_publishes_the_same_rows(spark, tmp_path, cli):
    leads = [
        # a zone named before a naive time: DuckDB 1.5.5's cast read the next naive time in Paris time
        {**LEADS[0], "metadata": json.dumps({"sent_at": "2025-01-05 11:00:00 Europe/Paris", "opened": True, "replied": True,
                                             "bounced": False, "replied_at": "2025-01-05T13:00:00+01:00"})},
        {**LEADS[1], "metadata": json.dumps({"sent_at": "2025-01-06 10:00:00", "opened": "true", "replied": False,
                                             "bounced": False, "clicked": True})},
        # the hour repeated when clocks go back: the later (standard time) instant, 01:30 UTC, on both
        {**LEADS[2], "metadata": json.dumps({"sent_at": "2024-10-27 02:30:00 Europe/Berlin", "opened": True})},
        {**LEADS[4], "metadata": json.dumps({"utm": "no send"})},
        {**LEADS[5], "metadata": json.dumps({"sent_at": "2025-01-20 23:59:59", "opened": "yes", "converted": 1})},
        {**LEADS[6], "metadata": json.dumps({"sent_at": " ", "opened": "maybe"})},  # a blank sent_at: no send, not read
        *LEADS[7:],
    ]
    root = make_project(tmp_path / "fallback", leads=leads, segments=SEGMENTS, with_campaigns=False,
                        project={"engine": SPARK})
    # a ';'-separated export (its ';' tag lists quoted): read with the delimiter DuckDB's sniffer finds
    leads_csv = root / "seeds" / "leads.csv"
    rows = list(csv.reader(io.StringIO(leads_csv.read_text(), newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    leads_csv.write_text(out.getvalue())
    duck, on_spark = build_both(cli, root, "--as-of", AS_OF.isoformat())
    assert_same(duck, on_spark)
    assert sum(row[2] for row in on_spark["segment_performance_daily"][1]) > 0


def test_generated_data_publishes_the_same_rows(spark, tmp_path, cli):
    """The benchmark generator's xs data (5k leads, 50k sends, 20 segments), as Parquet globs;
    on Spark the leads come from a table of Spark's catalog instead."""
    data = tmp_path / "data"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--scale", "xs", "--out", str(data)],
                   check=True, capture_output=True)
    root = make_project(tmp_path / "xs", project={"engine": SPARK, "sources": {
        "workspaces": {"path": "../data/workspaces.parquet"}, "leads": {"path": "../data/leads.parquet"},
        "campaigns": {"path": "../data/campaigns.parquet"},
        "campaign_leads": {"path": "../data/campaign_leads/*.parquet"}}})
    (root / "seeds" / "segments.yml").write_text((data / "segments.yml").read_text())
    for seed in ("leads", "campaigns", "campaign_leads"):
        (root / "seeds" / f"{seed}.csv").unlink()
    spark.read.parquet(str(data / "leads.parquet")).createOrReplaceTempView("crm_leads")
    duck, on_spark = build_both(cli, root, "--as-of", "2026-11-15", spark_sources={"leads": {"table": "crm_leads"}})
    assert_same(duck, on_spark)
    assert len(on_spark["segment_leads"][1]) > 1000 and len(on_spark["segment_performance_daily"][1]) > 100


def test_a_failing_spark_build_leaves_the_published_file_unchanged(spark, tmp_path, cli):
    root = edge_project(tmp_path / "p", "matching")
    assert cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat()).exit_code == 0
    before = (root / "out.duckdb").read_bytes()
    again = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert again.exit_code == 0 and "Nothing to do" in again.stdout  # nothing changed: nothing published

    # model SQL inside the supported subset that Spark rejects (no such column)
    (root / "models" / "broken.sql").write_text("select no_such_column from {{ ref('segments') }}\n")
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1
    assert "model broken (models/broken.sql) failed on Spark" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (root / "out.duckdb").read_bytes() == before
    (root / "models" / "broken.sql").unlink()

    # a failing data test (run on Spark, before anything reaches DuckDB): a lead id twice
    leads_csv = root / "seeds" / "leads.csv"
    good_leads = leads_csv.read_text()
    leads_csv.write_text(good_leads + good_leads.splitlines()[1] + "\n")
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1 and "data tests failed, nothing published: unique_stg_leads_lead_id (1 failing row, e.g. lead_id=" in result.stderr
    assert (root / "out.duckdb").read_bytes() == before
    assert not list(root.glob("out.duckdb.*.*"))  # no Parquet folder or build file left

    # a value Spark's own reader or cast took, or one only DuckDB's took: refused as DuckDB refuses it (SPEC §11),
    # naming the line as DuckDB does (test_csv_input.py), before anything reaches the published file
    rows = list(csv.reader(io.StringIO(good_leads, newline="")))

    def with_value(column, value):  # line 4: the third lead
        changed = [list(row) for row in rows]
        changed[3][rows[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(changed)
        return out.getvalue()

    extra = with_value("role", "CEO").split("\n")
    extra[3] += ",extra"
    for text, message in [
        (with_value("tags", "[not json"), "line 4, column 'tags': cannot read '[not json' as VARCHAR[]"),
        (with_value("score", "1_000"), "line 4, column 'score': cannot read '1_000' as DOUBLE"),
        (with_value("score", "-1e400"), "line 4, column 'score': cannot read '-1e400' as DOUBLE"),
        (with_value("created_at", "2025-01-01 24:00:00"),
         "line 4, column 'created_at': cannot read '2025-01-01 24:00:00' as TIMESTAMP"),
        (with_value("role", "CE\0O"), "line 4, column 'role': cannot read 'CE\\x00O' — a NUL character"),
        ("\n".join(extra), "cannot read: line 4 has 13 fields where the header has 12"),
        ("\n".join(extra).replace(",extra", ","), "cannot read: line 4 has 13 fields where the header has 12"),
    ]:
        leads_csv.write_text(text)
        duck = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), "--engine", "duckdb",
                           "--db", root / "duck.duckdb")
        result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
        assert result.exit_code == 2 and result.stderr == duck.stderr, (result.stderr, duck.stderr)
        assert result.stderr.startswith(f"Error: seeds/leads.csv: {message}"), result.stderr
        assert result.stderr.count("\n") == 1 and (root / "out.duckdb").read_bytes() == before

    # the same project on the other engine is rebuilt, not taken for up to date
    leads_csv.write_text(good_leads)
    switched = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), "--engine", "duckdb")
    assert switched.exit_code == 0 and "Nothing to do" not in switched.stdout


def test_external_model_is_a_parquet_dataset_switched_atomically(edge_builds, tmp_path, cli):
    _, duck, _ = edge_builds["matching"]
    root = edge_project(tmp_path / "ext", "matching")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["engine"] = {**SPARK, "external": ["segment_leads", "segment_set_sends_daily"]}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    result = cli("run", "--project-dir", root, "--db", root / "spark.duckdb", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    on_spark = published(root / "spark.duckdb")
    assert_same(duck, on_spark)
    first = list(tmp_path.glob("ext/spark.duckdb.segment_leads.*"))
    assert len(first) == 1 and list(first[0].glob("segment_id=*/*.parquet"))
    con = duckdb.connect(str(root / "spark.duckdb"), read_only=True)
    assert con.execute("SELECT table_schema, table_type FROM information_schema.tables WHERE table_name IN "
                       "('segment_leads', 'segment_set_sends_daily') ORDER BY 1").fetchall() == [
        ("internal", "VIEW"), ("main", "VIEW")]
    con.close()
    # an internal table, external too: compare reads it for the sends two segments share
    (_, set_id, _), *_ = on_spark["internal.segment_set_sends_daily"][1]
    a, b, *_ = dict(on_spark["internal.segment_sets"][1])[set_id]
    compared = [cli("compare", a, b, "--project-dir", root, "--db", root / db, "--as-of", AS_OF.isoformat(),
                    "--days", "365", "--format", "json")
                for db in ("spark.duckdb", edge_builds["matching"][0] / "duck.duckdb")]
    assert compared[0].exit_code == 0, compared[0].stderr
    assert json.loads(compared[0].stdout) == json.loads(compared[1].stdout)
    assert json.loads(compared[0].stdout)["shared_sends"] > 0
    # a rebuild writes a new folder and publishes; a reader of the old file keeps reading the
    # old folder (SPEC §8), which the run after it removes, whatever its engine
    reader = duckdb.connect(str(root / "spark.duckdb"), read_only=True)
    count = reader.execute("SELECT count(*) FROM segment_leads").fetchone()[0]
    result = cli("run", "--project-dir", root, "--db", root / "spark.duckdb", "--full-refresh",
                 "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    both = set(tmp_path.glob("ext/spark.duckdb.segment_leads.*"))
    assert len(both) == 2 and set(first) < both
    assert reader.execute("SELECT count(*) FROM segment_leads").fetchone()[0] == count
    reader.close()
    assert published(root / "spark.duckdb")["segment_leads"] == on_spark["segment_leads"]
    second = both - set(first)
    for left in (second, set()):  # a DuckDB run keeps what the file it replaces reads; the next removes it
        result = cli("run", "--project-dir", root, "--db", root / "spark.duckdb", "--engine", "duckdb",
                     "--full-refresh", "--as-of", AS_OF.isoformat())
        assert result.exit_code == 0, result.stderr
        assert set(tmp_path.glob("ext/spark.duckdb.segment_leads.*")) == left
    assert list(tmp_path.glob("ext/spark.duckdb.*.*")) == []


def test_external_names_a_table_model_or_the_run_stops_in_one_line(spark, tmp_path):
    root = edge_project(tmp_path / "bad", "matching")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["engine"] = {**SPARK, "external": ["segment_lead"]}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    result = run_segpipe("run", "--project-dir", root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line, = result.stderr.strip().splitlines()
    assert "engine.external: 'segment_lead' is not a table model" in line and "did you mean 'segment_leads'" in line
    assert not (root / "out.duckdb").exists()


def test_top_reads_a_spark_built_file_unchanged(edge_builds, cli):
    root, _, _ = edge_builds["matching"]
    outputs = []
    for db in ("duck.duckdb", "spark.duckdb"):
        result = cli("top", "--project-dir", root, "--db", root / db, "--as-of", AS_OF.isoformat(),
                     "--format", "json", "--limit", "10")
        assert result.exit_code == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1] and outputs[0]["segments"]
    # `segpipe test` on the Spark-built file tests what it holds: the published tables
    result = cli("test", "--project-dir", root, "--db", root / "spark.duckdb")
    assert result.exit_code == 0, result.stderr
    assert "Built on Spark" in result.stdout and "not_null_segments_segment_id" in result.stdout
    assert "stg_leads" not in result.stdout


def test_a_table_too_large_for_the_driver_is_one_line_naming_the_ways_out():
    """At scale l the driver refused to collect segment_leads (spark.driver.maxResultSize):
    the run says so in one line (exit 1) naming engine.external, not an unexpected Py4J error."""
    pytest.importorskip("pyspark")
    from segpipe.engines.spark import collect_arrow
    from segpipe.errors import RunError, one_line

    class TooLarge:
        def toArrow(self):
            raise RuntimeError("An error occurred while calling o167.getResult.\n: org.apache.spark.SparkException: "
                               "Job aborted due to stage failure: Total size of serialized results of 2 tasks "
                               "(1289.1 MiB) is bigger than spark.driver.maxResultSize (1024.0 MiB)")

    class Failing:
        def toArrow(self):
            raise RuntimeError("something else")

    with pytest.raises(RunError) as raised:
        collect_arrow(TooLarge(), "segment_leads")
    line, code = one_line(raised.value)
    assert code == 1 and "\n" not in line
    assert line.startswith("Error: model segment_leads: its rows are more than spark.driver.maxResultSize")
    assert "engine.external" in line and "nothing was published" in line
    assert "(Total size of serialized results of 2 tasks (1289.1 MiB) is bigger than" in line
    with pytest.raises(RuntimeError, match="something else"):
        collect_arrow(Failing(), "segment_leads")


def test_a_csv_glob_is_read_by_column_name_as_duckdb_reads_it(spark, tmp_path, cli):
    """DuckDB reads a glob's CSV files by name (union_by_name); one Spark reader took the first
    file's header for every file and failed on a later export with its columns in another order,
    another delimiter or without the optional `variant`."""
    root = edge_project(tmp_path / "glob", "matching")
    sends = list(csv.DictReader(io.StringIO((root / "seeds" / "campaign_leads.csv").read_text(), newline="")))
    (root / "seeds" / "campaign_leads.csv").unlink()
    columns = list(sends[0])
    (root / "exports").mkdir()
    for name, part, order, sep in [("1", sends[::2], columns, ","),
                                   ("2", sends[1::2], [c for c in reversed(columns) if c != "variant"], ";")]:
        with open(root / "exports" / f"sends_{name}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, order, delimiter=sep, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(part)
    config = yaml.safe_load((root / "project.yml").read_text())
    config["sources"] = {"campaign_leads": {"path": "exports/sends_*.csv"}}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    duck, on_spark = build_both(cli, root, "--as-of", AS_OF.isoformat())
    assert_same(duck, on_spark)
    assert sum(row[2] for row in on_spark["segment_performance_daily"][1]) > 0


def read_by_both(spark, text: str, type_: str):
    """(DuckDB's, Spark's) value of CSV text `text` loaded as `type_`, or "refused"."""
    from segpipe import source_types
    from segpipe.engines.spark_sources import convert

    try:
        duck = duckdb.connect().execute(f"SELECT {source_types.convert('x', 'VARCHAR', type_)} "
                                        "FROM (SELECT ?::VARCHAR AS x)", [text]).fetchone()[0]
    except duckdb.Error:
        duck = "refused"
    try:
        on_spark = spark.createDataFrame([(text,)], "x string").selectExpr(convert("x", "string", type_)).collect()[0][0]
    except Exception:
        on_spark = "refused"
    return duck, on_spark


def test_a_tags_json_array_is_read_by_duckdbs_rules(spark):
    """Spark's from_json took single quotes (Python's str() of a list, which DuckDB's cast
    refuses, so the Spark build published what the DuckDB one stopped at) and refused a
    trailing comma, which DuckDB's cast reads (so the Spark build stopped instead)."""
    for text, want in [("['webinar', 'hiring']", "refused"), ('["webinar", "hiring",]', ["webinar", "hiring"]),
                       ('["a",\n]', ["a"]), ("[,]", "refused")]:
        assert read_by_both(spark, text, "VARCHAR[]") == (want, want), text


def test_metadata_with_a_key_twice_loads_on_both_engines(spark):
    """DuckDB's JSON takes a key twice (and reads the first); Spark's check refused the run."""
    text = '{"sent_at": "2025-01-05", "sent_at": "2025-02-05"}'
    assert read_by_both(spark, text, "JSON") == (text, text)
    assert spark.sql(f"SELECT get_json_object('{text}', '$.sent_at')").collect()[0][0] == "2025-01-05"


@pytest.mark.parametrize("text, want", [
    ("2025-01-10 10:00:00 Europe/Paris", dt.datetime(2025, 1, 10, 9)),   # winter: UTC+1
    ("2025-07-10 10:00:00.5 Europe/Paris", dt.datetime(2025, 7, 10, 8, 0, 0, 500000)),  # summer: UTC+2
    ("2025-01-10 10:00:00-05", dt.datetime(2025, 1, 10, 15)),
    ("2025-01-10 10:00", dt.datetime(2025, 1, 10, 10)),                  # naive: UTC
    # a local time clocks going back repeat is the later instant (Spark took the earlier: 00:30 UTC),
    # one they skip is read at the offset before the change; Lord Howe goes back 30 minutes
    ("2024-10-27 02:30:00 Europe/Berlin", dt.datetime(2024, 10, 27, 1, 30)),
    ("2024-11-03 01:30:00 America/New_York", dt.datetime(2024, 11, 3, 6, 30)),
    ("2024-04-07 01:45:00 Australia/Lord_Howe", dt.datetime(2024, 4, 6, 15, 15)),
    ("2024-03-31 02:30:00 Europe/Berlin", dt.datetime(2024, 3, 31, 1, 30)),
    ("2025-01-10 10:00+01:00", "refused"),                               # Spark read it, DuckDB refused it
    ("2025-01-10 10:00 Europe/Paris", "refused"),                        # a zone needs the seconds too
])
def test_a_time_is_read_by_its_own_zone_or_refused_on_both_engines(spark, text, want):
    assert read_by_both(spark, text, "TIMESTAMP") == (want, want)


def test_a_spark_sql_setting_spark_refuses_is_a_configuration_error(spark):
    """`conf: {spark.sql.shuffle.partitions: abc}` failed at the first query: 'unexpected
    IllegalArgumentException', exit 1; it is checked when the session starts, naming the key."""
    from segpipe.engines import EngineConfig
    from segpipe.engines.spark import session
    from segpipe.errors import ConfigError

    before = spark.conf.get("spark.sql.shuffle.partitions")
    with pytest.raises(ConfigError, match=r"^engine\.conf\.spark\.sql\.shuffle\.partitions in project\.yml: "
                                          r".*INVALID_CONF_VALUE"):
        session(EngineConfig(type="spark", master="local[2]", conf={"spark.sql.shuffle.partitions": "abc"}))
    assert spark.conf.get("spark.sql.shuffle.partitions") == before


def test_what_py4j_logs_on_the_root_logger_is_silenced(spark):
    """A signal stopping a call into the JVM made py4j log 'Exception while sending command.' with
    its traceback on the root logger: 52 lines before segpipe's one line (SPEC §8)."""
    import io
    import logging

    import py4j.java_gateway

    from segpipe.engines import EngineConfig
    from segpipe.engines.spark import session

    session(EngineConfig(type="spark", master="local[2]"))
    seen = io.StringIO()
    handler = logging.StreamHandler(seen)
    logging.getLogger().addHandler(handler)
    try:
        as_py4j = compile("import logging\nlogging.getLogger().error('Exception while sending command.')",
                          py4j.java_gateway.__file__, "exec")
        exec(as_py4j, {})
        logging.getLogger().error("another library's error")
    finally:
        logging.getLogger().removeHandler(handler)
    assert seen.getvalue() == "another library's error\n"
