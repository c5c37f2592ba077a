"""What `segpipe top` loads at start-up, and the project.yml parse cache that keeps PyYAML off its path.

Speed itself is measured by benchmarks/startup.py, not here; these tests pin
the behaviour: the cache never serves a stale or wrong value, and a warm
`segpipe top` imports none of the build machinery.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from segpipe.cli import app
from segpipe.project import load_project
from tests.conftest import make_project

PROJECT_YML = "name: p\ndatabase: one.duckdb\nvars:\n  days: 7\n"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "project.yml").write_text(PROJECT_YML)
    return tmp_path


def cache_of(root):
    return root / "target" / "project.yml.json"


def test_loading_a_project_caches_its_parse(root):
    load_project(root)
    stored = json.loads(cache_of(root).read_text())
    assert (stored["text"], stored["value"]) == (PROJECT_YML, {"name": "p", "database": "one.duckdb", "vars": {"days": 7}})
    assert load_project(root).vars == {"days": 7, "attribution": "matching"}


def test_an_edit_is_seen_even_with_the_same_size_and_modification_time(root):
    path = root / "project.yml"
    load_project(root)
    before = path.stat()
    path.write_text(PROJECT_YML.replace("one.duckdb", "two.duckdb"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert load_project(root).database == root.resolve() / "two.duckdb"


def test_top_reads_the_database_named_by_the_current_project_yml(root):
    for name in ("one.duckdb", "two.duckdb"):
        (root / "project.yml").write_text(PROJECT_YML.replace("one.duckdb", name))
        result = invoke("top", "--project-dir", root)
        assert (result.exit_code, result.stderr) == (
            2, f"Error: no published database at {root.resolve() / name} — run `segpipe run` first\n")


@pytest.mark.parametrize("content", [
    b"{not json",
    b"\xff\xfe\x00 not utf-8",
    b"[1, 2, 3]",
    b'{"text": "name: p\\n", "value": {"database": "elsewhere.duckdb"}}',  # no format marker
    b'{"format": "segpipe parse cache 0", "text": %s, "value": {"database": "old.duckdb"}}',  # another layout
    b'{"format": "segpipe parse cache 1", "text": "name: q\\ndatabase: q.duckdb\\n", "value": {"database": "q.duckdb"}}',
    b'{"format": "segpipe parse cache 1", "text": %s}',  # no value
    b"[" * 100_000,  # too deep for the JSON parser
])
def test_a_corrupt_or_foreign_cache_is_ignored_and_rewritten(root, content):
    cache_of(root).parent.mkdir()
    cache_of(root).write_bytes(content.replace(b"%s", json.dumps(PROJECT_YML).encode()))
    assert load_project(root).database == root.resolve() / "one.duckdb"
    assert json.loads(cache_of(root).read_text())["value"]["database"] == "one.duckdb"


@pytest.mark.parametrize("value,expected", [("2025-01-31", dt.date(2025, 1, 31)), ("{1: one}", {1: "one"})])
def test_a_value_json_cannot_hold_exactly_is_parsed_every_time(root, value, expected):
    """A date stays a date and a number key stays a number: such a parse is never cached."""
    (root / "project.yml").write_text(f"name: p\nvars:\n  x: {value}\n")
    for _ in range(2):
        assert load_project(root).vars["x"] == expected
    assert not cache_of(root).exists()


def test_a_cached_parse_keeps_the_types(root):
    (root / "project.yml").write_text("name: p\nvars:\n  x: [1, true, 1.0, null, '2025-01-31']\n")
    load_project(root)
    assert cache_of(root).exists()
    assert [type(v) for v in load_project(root).vars["x"]] == [int, bool, float, type(None), str]


def test_invalid_yaml_after_a_cached_parse_is_reported(root):
    load_project(root)
    (root / "project.yml").write_text("name: p\nvars:\n  days: [7\n")
    result = invoke("top", "--project-dir", root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {root.resolve() / 'project.yml'}:4: invalid YAML in project config: ")


def test_validation_still_runs_on_a_cached_parse(root):
    (root / "project.yml").write_text("name: p\nthreads: 0\n")
    for _ in range(2):
        result = invoke("top", "--project-dir", root)
        assert (result.exit_code, result.stderr) == (
            2, f"Error: {root.resolve() / 'project.yml'}:2: 'threads' must be a positive integer\n")
    assert cache_of(root).exists()


def test_a_project_where_the_cache_cannot_be_written_still_loads(root):
    (root / "target").write_text("a file, not a folder")
    for _ in range(2):
        assert load_project(root).database == root.resolve() / "one.duckdb"
    assert sorted(p.name for p in root.iterdir()) == ["project.yml", "target"]


def test_warm_top_imports_none_of_the_build_machinery(tmp_path):
    """`segpipe top` after a run: no PyYAML, Jinja, runner, renderer, sources or segments."""
    root = make_project(tmp_path / "p")
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    probe = ("import sys\n"
             "from segpipe.cli import main\n"
             "sys.argv = ['segpipe', 'top', '--project-dir', sys.argv[1], '--as-of', '2025-01-31']\n"
             "try:\n"
             "    main()\n"
             "finally:\n"
             "    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Top 0 segments by reply_rate")
    loaded = set(done.stderr.split())
    assert "segpipe.top" in loaded
    assert not loaded & {"yaml", "jinja2", "rich", "segpipe.runner", "segpipe.render", "segpipe.sources",
                         "segpipe.segments", "segpipe.docs", "segpipe.dag"}
