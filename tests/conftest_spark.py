"""One local Spark session (local[2]) for the whole test session, started on first use.

segpipe reuses the active session (engines/spark.py), so every in-process Spark
build shares this JVM instead of paying ~10-20 s to start its own.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is in the dev extra: make install-dev")
    from pyspark.sql import SparkSession

    from segpipe.engines.spark import SESSION_CONF

    builder = SparkSession.builder.master("local[2]").appName("segpipe-tests")
    for key, value in {**SESSION_CONF, "spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                       "spark.driver.memory": "1g"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
