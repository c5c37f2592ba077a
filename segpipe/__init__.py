"""segpipe: which lead segments actually work — a dbt-style DuckDB pipeline."""

__version__ = "0.1.0"
