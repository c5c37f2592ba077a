"""`engine:` in project.yml and `--engine`: parsing, and the one-line errors (no Spark started)."""

from __future__ import annotations

import sys

import pytest
import yaml

from segpipe.engines import EngineConfig, parse_engine
from segpipe.errors import ConfigError
from tests.conftest import make_project
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS


def test_engine_defaults_to_duckdb_and_takes_a_name_or_a_mapping():
    assert parse_engine(None, "p.yml") == EngineConfig()
    assert parse_engine("duckdb", "p.yml").type == "duckdb"
    spark = parse_engine({"type": "spark", "master": "spark://h:7077", "conf": {"spark.executor.memory": "4g",
                                                                             "spark.sql.ansi.enabled": True}}, "p.yml")
    assert (spark.type, spark.master, spark.conf) == ("spark", "spark://h:7077",
                                                      {"spark.executor.memory": "4g", "spark.sql.ansi.enabled": "true"})
    assert parse_engine("spark", "p.yml").master == "local[*]"
    assert parse_engine({"type": "spark", "master": "sc://h:15002"}, "p.yml", override="duckdb").type == "duckdb"
    assert parse_engine(None, "p.yml", override="spark").is_spark


@pytest.mark.parametrize("value, message", [
    ({"type": "flink"}, "engine.type: must be one of duckdb, spark, got 'flink'"),
    ({"type": "sprak"}, "engine.type: must be one of duckdb, spark, got 'sprak' (did you mean 'spark'?)"),
    ({"type": "spark", "mastr": "local[2]"}, "unknown key 'mastr' (did you mean 'master'?)"),
    ({"type": "spark", "conf": ["a"]}, "engine.conf must be a mapping"),
    ({"type": "duckdb", "master": "local[2]"}, "engine.master applies to type spark only"),
    # refused here: Spark refused it only once its JVM ran, with a Java stack trace
    ({"type": "spark", "master": "bogus://nowhere:1"}, "engine.master must be text such as 'local[*]', "
     "'spark://host:7077' or 'sc://host:15002' (Spark takes local, local[N], spark://, k8s://, yarn or sc://), "
     "got 'bogus://nowhere:1'"),
    (["spark"], "'engine' must be duckdb or a mapping"),
])
def test_bad_engine_settings_are_one_line_naming_the_key(value, message):
    with pytest.raises(ConfigError) as error:
        parse_engine(value, "project.yml")
    assert message in str(error.value) and str(error.value).startswith("project.yml")


def test_unknown_engine_option_value(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    result = cli("run", "--project-dir", root, "--engine", "sparkk")
    assert result.exit_code == 2 and "--engine must be one of duckdb, spark, got 'sparkk' (did you mean 'spark'?)" in result.stderr
    assert not (root / "out.duckdb").exists()


def test_an_engine_typo_in_project_yml_names_its_line(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    text = (root / "project.yml").read_text()
    (root / "project.yml").write_text(text + "engine: sprak\n")
    result = cli("run", "--project-dir", root)
    line = len(text.splitlines()) + 1
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {root / 'project.yml'}:{line}: engine.type: must be one of duckdb, spark, got 'sprak' "
           "(did you mean 'spark'?)\n")


def test_spark_without_pyspark_is_one_line_exit_2(tmp_path, cli, monkeypatch):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    result = cli("run", "--project-dir", root, "--engine", "spark", "--as-of", "2025-01-31")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: engine spark needs pyspark, which is not installed — pip install 'segpipe[spark]' "
        "(Spark also needs Java 17 or newer)"]
    assert not (root / "out.duckdb").exists()


def test_spark_only_sources_are_refused_by_duckdb(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        project={"sources": {"leads": {"table": "sales.leads"}}})
    result = cli("run", "--project-dir", root)
    assert result.exit_code == 2
    assert "source 'leads' is a Spark table (sales.leads) — set engine: spark" in result.stderr
    config = yaml.safe_load((root / "project.yml").read_text())
    config["sources"] = {"leads": {"path": "s3a://bucket/leads/*.parquet"}}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    result = cli("run", "--project-dir", root)
    assert result.exit_code == 2 and "s3a://bucket/leads/*.parquet is a URI, which only engine spark reads" in result.stderr
