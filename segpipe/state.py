"""Fingerprints of what each node was built from, kept in the published file.

A rerun compares them to decide what to rebuild: a source whose files did not
change is not reloaded, a model whose rendered SQL and inputs did not change is
not rebuilt, and a run where nothing changed publishes nothing at all.
File sources are fingerprinted by (path, size, mtime) of every matching file,
so unchanged data costs a `stat`, not a scan; database sources cannot be
fingerprinted cheaply and are always reloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import __version__

TABLE = "segpipe_meta.fingerprints"


def digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def source_files(source) -> list[tuple[str, int, int]] | None:
    """(path, size, mtime_ns) of each file behind a seed or file source; None for a database,
    a Spark table or a URI (those cannot be fingerprinted cheaply, so they count as changed)."""
    if source.kind in ("database", "table") or source.is_uri:
        return None
    files = []
    for path in source.paths():
        stat = os.stat(path)
        files.append((path, stat.st_size, stat.st_mtime_ns))
    return files


def source_fingerprint(source, contract: dict, files) -> str | None:
    """Digest of a source's files (from `source_files`) and its configuration."""
    if files is None:
        return None
    return digest(__version__, [list(f) for f in files], source.column_types, contract, source.format,
                  source.copy)


def appended_files(previous, current) -> list[str]:
    """Files added since the last run when every earlier file is unchanged, else []."""
    if not previous or not current:
        return []
    now = {path: (size, mtime) for path, size, mtime in current}
    before = {path: (size, mtime) for path, size, mtime in previous}
    if any(now.get(path) != stat for path, stat in before.items()):
        return []
    return sorted(set(now) - set(before))


def read_fingerprints(db_path: Path) -> dict[str, str]:
    """The fingerprints stored by the last successful run; {} when there are none."""
    import duckdb

    if not Path(db_path).exists():
        return {}
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return {}
    try:
        return dict(con.execute(f"SELECT node, fingerprint FROM {TABLE}").fetchall())
    except duckdb.Error:
        return {}
    finally:
        con.close()


def write_fingerprints(con, fingerprints: dict[str, str]) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS segpipe_meta")
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} (node VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
    rows = sorted((node, fp) for node, fp in fingerprints.items() if fp is not None)
    if rows:
        placeholders = ", ".join(["(?, ?)"] * len(rows))
        con.execute(f"INSERT INTO {TABLE} VALUES {placeholders}", [v for row in rows for v in row])
