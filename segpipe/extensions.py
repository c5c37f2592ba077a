"""Load DuckDB's PostgreSQL and SQLite scanners without touching the network.

DuckDB normally downloads extensions on first use (``INSTALL postgres``),
which fails on air-gapped machines and in locked-down CI. segpipe instead
takes the extension binary from a PyPI package installed beside duckdb
(``duckdb-extension-postgres-scanner`` / ``duckdb-extension-sqlite-scanner``,
pulled in by ``pip install 'segpipe[postgres]'`` / ``'segpipe[sqlite]'``):
``INSTALL '<file inside the package>'`` copies it into DuckDB's extension
folder, then ``LOAD`` loads it. When that folder is not writable (a read-only
home), segpipe loads the file by path instead. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from .errors import ConfigError, first_line
from .sql import quote_str

# segpipe name -> (DuckDB extension name, PyPI distribution, import name, label)
_EXTENSIONS = {
    "postgres": ("postgres_scanner", "duckdb-extension-postgres-scanner",
                 "duckdb_extension_postgres_scanner", "PostgreSQL"),
    "sqlite": ("sqlite_scanner", "duckdb-extension-sqlite-scanner",
               "duckdb_extension_sqlite_scanner", "SQLite"),
}


def extension_path(name: str) -> Path:
    """Path of the ``.duckdb_extension`` file for ``name`` ("postgres" or "sqlite")
    shipped by its PyPI package, for the running duckdb version."""
    ext, dist, module, label = _spec(name)
    try:
        package = importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"the {name} source needs the DuckDB {label} scanner: "
            f"pip install 'segpipe[{name}]'"
        ) from None
    version = "v" + duckdb.__version__.lstrip("v")
    candidates = sorted(
        p for root in package.__path__
        for p in Path(root).rglob(f"{ext}.duckdb_extension")
    )
    for path in candidates:
        if version in path.parts:
            return path
    found = ", ".join(p.parent.name for p in candidates) or "no extension file"
    raise ConfigError(
        f"the installed {dist} package does not match duckdb {duckdb.__version__} "
        f"(it has {found}): pip install '{dist}=={duckdb.__version__.lstrip('v')}'"
    )


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Install the "postgres" or "sqlite" scanner from its PyPI package and load
    it into ``con`` (no download). A no-op when it is already loaded."""
    ext = _spec(name)[0]
    loaded, installed = con.execute(
        "SELECT any_value(loaded), any_value(installed) FROM duckdb_extensions() "
        "WHERE extension_name = ?", [ext]
    ).fetchone()
    if loaded:
        return
    path = extension_path(name)
    literal = quote_str(path)
    try:
        if not installed:
            con.execute(f"INSTALL {literal}")
        con.execute(f"LOAD {ext}")
        return
    except duckdb.Error:
        pass  # e.g. the extension folder is read-only: load the package's file directly
    try:
        con.execute(f"LOAD {literal}")
    except duckdb.Error as exc:
        raise ConfigError(f"cannot load the DuckDB {ext} extension from {path}: {first_line(exc)}") from None


def _spec(name: str) -> tuple[str, str, str, str]:
    try:
        return _EXTENSIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown DuckDB extension {name!r}: expected one of {', '.join(sorted(_EXTENSIONS))}"
        ) from None
