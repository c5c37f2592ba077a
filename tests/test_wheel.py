"""SPEC §1: the built-in models and macros ship inside the package, so a wheel installed
(not editable) in a fresh virtualenv can `segpipe init` a project and run it, and the next
version installed over it reaches that project without any copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from segpipe import __version__
from tests.conftest import REPO


#: no PYTHONPATH (a checkout's, say): the fresh venv must import the installed wheel only
CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def check(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, env=CLEAN_ENV,
                          **kwargs)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


def test_a_wheel_in_a_fresh_venv_inits_runs_and_ranks(tmp_path):
    # build the wheel as pip does, from a clean copy of the repository (an earlier build's
    # build/ folder would leak into it); the symlinks of segpipe/builtin/ stay symlinks
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "target", "*.duckdb*", "__pycache__", "benchmarks", "tests"))
    check(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", tmp_path / "dist", source)
    wheel = next((tmp_path / "dist").glob("segpipe-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    for folder in ("models", "macros"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file():
                assert f"segpipe/builtin/{folder}/{path.relative_to(REPO / folder).as_posix()}" in shipped

    # a fresh venv holding segpipe from the wheel only; its dependencies are borrowed from this
    # one through a .pth line (after its own site-packages, so this checkout is never imported)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    check(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)
    own_site = Path(check(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (own_site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    located = check(python, "-c", "import segpipe, jinja2; print(segpipe.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(located).is_relative_to(own_site)

    segpipe = env_dir / "bin" / "segpipe"
    check(segpipe, "init", "new_project", cwd=tmp_path)
    project = tmp_path / "new_project"
    own_sql = {path.relative_to(project).as_posix() for path in project.rglob("*.sql")}
    assert own_sql == {"models/well_sampled_segments.sql"}  # the example; no built-in model or macro
    assert not (project / "macros").exists()

    check(segpipe, "run", "--project-dir", project, cwd=tmp_path)
    ranked = json.loads(check(segpipe, "top", "--project-dir", project, "--format", "json", cwd=tmp_path).stdout)
    assert ranked["segments"] and all(row["leads_sent"] > 0 for row in ranked["segments"])
    listed = json.loads(check(segpipe, "ls", "--project-dir", project, "--format", "json", cwd=tmp_path).stdout)
    origins = {row["name"]: row["origin"] for row in listed if row["type"].startswith("model")}
    assert origins.pop("well_sampled_segments") == "models/well_sampled_segments.sql"
    assert origins and set(origins.values()) == {"builtin"}

    # the next release: a built-in model's SQL changes and the version is bumped where it is kept
    # (segpipe/__init__.py); installed over the first, it reaches the project on its next run,
    # with nothing copied into it, and the new version rebuilds every model
    upgrade = f"{__version__}.post1"
    init_file = source / "segpipe" / "__init__.py"
    init_file.write_text(init_file.read_text().replace(f'"{__version__}"', f'"{upgrade}"'))
    model = source / "models" / "segments.sql"
    sql, changed = re.subn(r"^(\s*)segment_name,$", r"\1upper(segment_name) as segment_name,", model.read_text(),
                           count=1, flags=re.M)
    assert changed, "segments.sql no longer lists segment_name on a line of its own: change this test"
    model.write_text(sql)
    check(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", tmp_path / "dist2", source)
    wheel = next((tmp_path / "dist2").glob("segpipe-*.whl"))
    assert wheel.name.startswith(f"segpipe-{upgrade}-")
    check(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)
    assert check(segpipe, "--version").stdout == f"segpipe {upgrade}\n"

    built = check(segpipe, "run", "--project-dir", project, cwd=tmp_path).stdout
    assert "SKIP  model" not in built
    assert re.search(r"^OK +source segments ", built, re.M), built  # src.segments is written again too
    ranked = json.loads(check(segpipe, "top", "--project-dir", project, "--format", "json", cwd=tmp_path).stdout)
    assert ranked["segments"] and all(row["segment_name"].isupper() for row in ranked["segments"])
    assert {path.relative_to(project).as_posix() for path in project.rglob("*.sql")
            if "target" not in path.relative_to(project).parts} == {"models/well_sampled_segments.sql"}
    recorded = check(python, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).sql("
                     "'select segpipe_version from segpipe_meta.run_info').fetchone()[0])",
                     project / "segpipe.duckdb").stdout.strip()
    assert recorded == upgrade
