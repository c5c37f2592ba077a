"""`threads` and `memory_limit` in project.yml reach DuckDB; bad values are one-line errors."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import make_project, yaml_key_line
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
        2, f"Error: {root / 'project.yml'}:{yaml_key_line(root / 'project.yml', 'memory_limit')}: 'memory_limit' must be "
           "a size such as 4GB or 512MiB, got 'lots'\n")


@pytest.mark.parametrize("setting,line", [
    ({"sources": {"leads": {"path": "x.csv", "column_types": ["score"]}}},
     "sources.leads.column_types: expected a mapping of column to type, such as {score: DOUBLE}"),
    ({"sources": {"leads": {"path": "x.csv", "column_types": {"score": 5}}}},
     "sources.leads.column_types.score: 5 is not a type name such as BIGINT, DOUBLE or VARCHAR"),
    ({"sources": {"leads": {"path": "x.csv", "column_types": {"score": "INT); DROP TABLE x; --"}}}},
     "sources.leads.column_types.score: 'INT); DROP TABLE x; --' is not a type name such as BIGINT, DOUBLE or VARCHAR"),
    ({"seeds": {"column_types": {"leads": ["a"]}}},
     "seeds.column_types.leads: expected a mapping of column to type, such as {score: DOUBLE}"),
    ({"sources": {"leads": {"path": 5}}}, "sources.leads: 'path' must be text, got 5"),
    ({"segments": {"path": 7}}, "segments: 'path' must be text, got 7"),
    ({"connections": {"c": {"type": "sqlite", "path": ["a"]}}}, "connections.c: 'path' must be text, got ['a']"),
])
def test_settings_of_the_wrong_shape_are_one_line(tmp_path, cli, setting, line):
    root = make_project(tmp_path / "proj", leads=LEADS, segments=SEGMENTS, project=setting)
    for command in ("run", "top"):
        result = cli(command, "--project-dir", root)
        at = yaml_key_line(root / "project.yml", bad_key(setting))
        assert (result.exit_code, result.stderr) == (2, f"Error: {root / 'project.yml'}:{at}: {line}\n")


def bad_key(setting: dict) -> str:
    """The dotted key of the bad value in these settings: the last key at each level."""
    keys = []
    while isinstance(setting, dict):
        keys.append(list(setting)[-1])
        setting = setting[keys[-1]]
    return ".".join(keys)


def test_type_names_with_arguments_and_lists_are_accepted(tmp_path, cli):
    root = make_project(tmp_path / "proj", leads=LEADS, segments=SEGMENTS,
                        project={"seeds": {"column_types": {"leads": {"score": "DECIMAL(5, 1)"}}}})
    assert cli("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert con.execute("select data_type from information_schema.columns where table_schema = 'src' "
                       "and table_name = 'leads' and column_name = 'score'").fetchone() == ("DECIMAL(5,1)",)
