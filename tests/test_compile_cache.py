"""The caches under target/ that keep an unchanged project's compile cheap: the parsed
segments and model docs (target/parsed/) and Jinja's compiled templates (target/jinja/).

They must never serve a stale value: an edit is seen even when it keeps the file's
size and modification time, and a cached parse is validated like a fresh one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segpipe.errors import ConfigError
from segpipe.project import load_project
from segpipe.pipeline import compile_plan as compile_project
from tests.conftest import REPO, make_project
from tests.datasets import LEADS, SEGMENTS

AS_OF = ("--as-of", "2025-01-31")


def rewrite_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    assert len(old) == len(new)
    before = path.stat()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def compiled(root: Path):
    return compile_project(load_project(root), as_of=None)


def test_a_second_compile_uses_the_caches_and_renders_the_same_sql(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    first = {name: model.sql for name, model in compiled(root).models.items()}
    assert (root / "target" / "parsed" / "seeds" / "segments.yml.lines.json").exists()
    assert (root / "target" / "parsed" / "builtin" / "models" / "published.yml.json").exists()
    assert list((root / "target" / "jinja").iterdir())

    probe = ("import sys, jinja2\nfrom segpipe.project import load_project\nfrom segpipe.pipeline import compile_plan as compile_project\n"
             "compiled = []\n"
             "jinja_compile = jinja2.Environment.compile\n"
             "jinja2.Environment.compile = lambda env, *a, **k: compiled.append(a[1]) or jinja_compile(env, *a, **k)\n"
             "plan = compile_project(load_project(sys.argv[1]))\n"
             "print('yaml' in sys.modules, compiled)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False []\n"  # nothing was parsed, no template compiled again
    assert {name: model.sql for name, model in compiled(root).models.items()} == first


def test_edits_are_seen_even_with_the_same_size_and_modification_time(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    for name in ("segments.sql", "published.yml"):  # the project's own copies, replacing the built-in ones
        shutil.copyfile(REPO / "models" / name, root / "models" / name)
    plan = compiled(root)
    assert "'us'" in plan.models["lead_segments"].sql  # the segments' values, quoted
    assert "SELECT" not in plan.models["segments"].sql

    rewrite_keeping_size_and_mtime(root / "seeds" / "segments.yml", "- US", "- DE")
    rewrite_keeping_size_and_mtime(root / "models" / "segments.sql", "select", "SELECT")
    rewrite_keeping_size_and_mtime(root / "models" / "published.yml", "description:", "descriptiox:")
    with pytest.raises(ConfigError, match="unknown key 'descriptiox'"):
        compiled(root)

    rewrite_keeping_size_and_mtime(root / "models" / "published.yml", "descriptiox:", "description:")
    plan = compiled(root)
    assert "'us'" not in plan.models["lead_segments"].sql
    assert "SELECT" in plan.models["segments"].sql


def test_a_cached_parse_still_reports_segment_errors_with_their_line(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    path = root / "seeds" / "segments.yml"
    path.write_text("segments:\n- id: 1\n  name: A\n  filters: {countries: [US]}\n- id: 2\n  name: B\n  filterz: {}\n")
    for _ in range(2):
        result = cli("compile", "--project-dir", root, *AS_OF)
        assert result.exit_code == 2
        assert result.stderr == (f"Error: {path}:7: segment 2: unknown key 'filterz' (did you mean 'filters'?)\n")
    assert (root / "target" / "parsed" / "seeds" / "segments.yml.lines.json").exists()


def test_caches_that_cannot_be_written_only_cost_time(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    (root / "target").mkdir()
    for cache in ("jinja", "parsed"):
        (root / "target" / cache).write_text("a file, not a folder")
    outputs = []
    for _ in range(2):
        result = cli("compile", "--project-dir", root, *AS_OF)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and "from src.leads" in outputs[0]


def test_a_target_that_is_not_a_folder_is_one_line_and_nothing_is_built(tmp_path, cli):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    (root / "target").write_text("a file, not a folder")
    for command in ("run", "compile"):
        result = cli(command, "--project-dir", root, *AS_OF)
        assert (result.exit_code, result.stderr) == (
            2, "Error: target/compiled/builtin/models/internal/lead_scopes.sql: cannot write the compiled SQL (Not a directory) — "
               "make target/ a folder segpipe can write to\n")
    assert not (root / "out.duckdb").exists()


def test_a_file_read_as_model_docs_then_as_segments_keeps_its_lines(tmp_path):
    """Segments are parsed with each mapping's line, model docs without: one file
    read both ways must not get the other's parse from the cache."""
    from segpipe.docs import load_docs
    from segpipe.project import parse_cache_file
    from segpipe.segments import load_segments_file

    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    shared = root / "models" / "shared.yml"
    shared.write_text("segments:\n- id: 1\n  name: A\n  filterz: {}\n")
    project = load_project(root)
    with pytest.raises(ConfigError, match="unknown key 'segments'"):
        load_docs(root, [shared], cache_of=lambda path: parse_cache_file(project, path))
    with pytest.raises(ConfigError, match=f"^{shared}:4: segment 1: unknown key 'filterz'"):
        load_segments_file(shared, cache=parse_cache_file(project, shared))
