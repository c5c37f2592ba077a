"""`threads` and `memory_limit` in project.yml reach DuckDB; bad values are one-line errors."""

from __future__ import annotations

import duckdb

from tests.conftest import make_project
from tests.datasets import LEADS, SEGMENTS


def test_threads_and_memory_limit_apply_to_the_build(tmp_path, cli):
    root = make_project(tmp_path / "proj", leads=LEADS, segments=SEGMENTS,
                        project={"threads": 1, "memory_limit": "512MiB"})
    (root / "models" / "build_settings.sql").write_text(
        "select current_setting('threads') as threads, current_setting('memory_limit') as memory_limit\n")
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    row = duckdb.connect(str(root / "out.duckdb"), read_only=True).execute("select * from build_settings").fetchone()
    assert row[0] == 1 and row[1] in ("512.0 MiB", "512 MiB")


def test_bad_memory_limit_is_a_config_error(tmp_path, cli):
    root = make_project(tmp_path / "proj", leads=LEADS, segments=SEGMENTS, project={"memory_limit": "lots"})
    result = cli("run", "--project-dir", root)
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {root / 'project.yml'}: 'memory_limit' must be a size such as 4GB or 512MiB, got 'lots'\n")
