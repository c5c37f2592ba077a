"""The analyses of SPEC §9: one module per analysis, each exposing one library function
that takes a read-only connection to the published file plus options and returns the
JSON value (a dict). The CLI prints that value (table, JSON, CSV …) and `serve` returns it.
"""
