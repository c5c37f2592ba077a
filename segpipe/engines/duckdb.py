"""The DuckDB engine: what only it can read, and what it cannot.

The DuckDB build itself is the runner's default path (runner.py, sources.py);
the models are written in DuckDB's dialect, so nothing is translated.
"""

from __future__ import annotations

from ..errors import ConfigError

NAME = "duckdb"


def check_sources(project) -> None:
    """Spark tables and URIs (s3a://…) exist for Spark only: say so before anything is built."""
    for source in project.sources.values():
        if source.kind == "table":
            raise ConfigError(f"source '{source.name}' is a Spark table ({source.table}) — set engine: spark in "
                              "project.yml (or run with --engine spark), or give the source a path or connection")
        if source.is_uri:
            raise ConfigError(f"source '{source.name}': {source.path} is a URI, which only engine spark reads — "
                              "set engine: spark, or point path at local files")
