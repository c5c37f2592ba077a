"""One local Spark session (local[2]) for the whole test session, started on first use.

segpipe reuses the active session (engines/spark.py), so every in-process Spark
build shares this JVM instead of paying ~10-20 s to start its own.
"""

from __future__ import annotations

import pytest


#: Spark tuned for the tests' few rows (results are the same): 2 shuffle partitions, and no
#: adaptive execution, which plans each query stage again after the one before it ran; on
#: tables of a few rows that halved the CPU time of a build (a 55-query union of data tests)
TINY_DATA_CONF = {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false"}


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is in the dev extra: make install-dev")
    from pyspark.sql import SparkSession

    from segpipe.engines.spark import SESSION_CONF

    builder = SparkSession.builder.master("local[2]").appName("segpipe-tests")
    for key, value in {**SESSION_CONF, **TINY_DATA_CONF, "spark.ui.enabled": "false",
                       "spark.ui.showConsoleProgress": "false", "spark.driver.memory": "1g"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
