"""The analyses of SPEC §9, one module each: a query over the published file plus the
statistics of segpipe/stats.py. Each exposes one function taking a read-only
connection and options and returning the JSON value (a dict) that both the CLI
(which prints it as a table, JSON, CSV, Parquet or XLSX) and `segpipe serve` return.
"""
