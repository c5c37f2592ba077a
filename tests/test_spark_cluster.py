"""engine: spark the two ways README's "On a real cluster" gives (SPEC §11): segpipe as a
Spark Connect client (`master: sc://…`) and segpipe submitted with `spark-submit` as the
driver. Both as users run them — real processes, a real Connect server on a loopback
port, the `spark-submit` pyspark installs — and both must publish exactly what the
DuckDB build of the same project publishes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest_spark import TINY_DATA_CONF
from tests.datasets import AS_OF
from tests.test_spark import assert_same, edge_project, published

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the dev extra: make install-dev")
BIN = Path(sys.executable).parent
SPARK_SUBMIT = BIN / "spark-submit"
# as in an activated virtualenv: pyspark's scripts find Spark's jars through the python on PATH
SPARK_ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
             "SPARK_HOME": str(Path(pyspark.__file__).parent),
             "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
TINY_DATA_ARGS = [arg for key, value in TINY_DATA_CONF.items() for arg in ("--conf", f"{key}={value}")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def segpipe(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "segpipe"), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


def duckdb_build(root: Path) -> dict:
    done = segpipe("run", "--project-dir", root, "--engine", "duckdb", "--db", root / "duck.duckdb",
                   "--as-of", AS_OF.isoformat(), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return published(root / "duck.duckdb")


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """A Spark Connect server (the one pyspark ships) on a free loopback port, for this module."""
    pytest.importorskip("grpc", reason="Spark Connect's client needs pyspark[connect] (the dev extra has it)")
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(SPARK_SUBMIT), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[1]", "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", "spark.driver.memory=1g",
             "--conf", "spark.ui.enabled=false", *TINY_DATA_ARGS, "spark-internal"],
            stdout=out, stderr=subprocess.STDOUT, env=SPARK_ENV)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Spark Connect server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_spark_connect_publishes_what_duckdb_does(connect_server, tmp_path):
    root = edge_project(tmp_path / "p", "matching")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["engine"] = {"type": "spark", "master": connect_server}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    done = segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_same(duckdb_build(root), published(root / "out.duckdb"))


def test_spark_submit_runs_segpipe_as_the_driver(tmp_path):
    """README's driver file under spark-submit: spark-submit's --master wins over engine.master."""
    root = edge_project(tmp_path / "p", "campaign")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["engine"] = {"type": "spark", "master": "spark://nowhere.invalid:7077"}  # must not be used
    (root / "project.yml").write_text(yaml.safe_dump(config))
    driver = tmp_path / "segpipe_driver.py"
    driver.write_text("from segpipe.entry import main; main()\n")
    done = subprocess.run(
        [str(SPARK_SUBMIT), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.memory=1g", *TINY_DATA_ARGS, str(driver),
         "run", "--engine", "spark", "--project-dir", str(root), "--as-of", AS_OF.isoformat()],
        cwd=root, capture_output=True, text=True, timeout=600, env=SPARK_ENV)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Done:" in done.stdout
    assert_same(duckdb_build(root), published(root / "out.duckdb"))



def test_a_failing_spark_run_says_so_in_one_line(tmp_path):
    """SPEC §7: one line on stderr, no traceback. A session segpipe starts logs nothing of Spark's
    own (log4j2.properties): a task that fails would print Java stack traces, and every start a few
    WARN lines. What the JVM and pyspark print at launch, before any logging, stays."""
    root = edge_project(tmp_path / "p", "matching")
    config = yaml.safe_load((root / "project.yml").read_text())
    config["engine"] = {"type": "spark", "master": "local[1]"}
    (root / "project.yml").write_text(yaml.safe_dump(config))
    (root / "models" / "broken.sql").write_text("select cast(segment_name || 'x' as int) as n from {{ ref('segments') }}\n")
    done = segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), cwd=root)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("Error: model broken (models/broken.sql) failed on Spark: [CAST_INVALID_INPUT] ")
    launch = ("WARNING: Using incubator modules", "Setting default log level", "To adjust logging level")
    assert [line for line in lines[:-1] if not line.startswith(launch)] == [], done.stderr[-3000:]
    assert not (root / "out.duckdb").exists()
