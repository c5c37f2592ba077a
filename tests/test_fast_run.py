"""The typer-free `segpipe run` (segpipe/entry.py) behaves exactly as the typer command.

A run changes its project, so every command line runs on two copies of the same
small project (the hand-made dataset, fresh or already built): once through the
fast path as users reach it (`python -m segpipe`) and once forced through
`segpipe.cli`, side by side. Exit code, stdout and stderr must be identical once
timings and the copy's folder are normalised, and so must the files left in the
project folder and every table of every database there. Command lines the fast
path refuses must reach typer and end exactly as they do there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from segpipe import entry
from tests.conftest import REPO, make_project, on_one_utc_day
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.test_fast_top import FAST, TYPER, environment

BUILT_IN_MODELS = len(list((REPO / "models").rglob("*.sql")))  # a project of tests/conftest.py has no own

AS_OF = "2025-01-31"
TIMES = re.compile(r"\b\d+\.\d\ds\b")  # a node's seconds and the run's, e.g. `0.01s`, `in 0.52s`

#: (project to start from, arguments after `run`); {root} is the copy's folder
ACCEPTED = [
    ("fresh", []),
    ("fresh", ["--as-of", AS_OF]),
    ("built", ["--as-of", AS_OF]),  # nothing to do
    ("built", ["--as-of", "2025-02-15"]),  # another window: segment_performance only
    ("built", ["--full-refresh", "--as-of", AS_OF]),
    ("built", ["--select", "segment_leads+", "--full-refresh", "--as-of", AS_OF]),
    ("built", ["--select", "segment_performance", "--vars", "{days: 7}", "--as-of", AS_OF]),
    ("built", ["--select", "+segment_leads", "--as-of", AS_OF]),
    ("fresh", ["-s", "staging/", "--as-of", AS_OF]),
    ("fresh", ["-s", "segments stg_leads", "--as-of", AS_OF]),
    ("built", ["--vars", "{days: 7}", "--as-of", AS_OF]),
    ("built", ["--vars={attribution: campaign, days: 90}", f"--as-of={AS_OF}"]),
    ("fresh", ["--project-dir={root}", "--db=other.duckdb", "--select=+segment_performance", "--full-refresh",
               "--vars={days: 14}", f"--as-of={AS_OF}"]),
    ("fresh", ["--project-dir", "{root}", "--db", "other.duckdb", "--as-of", AS_OF]),
    ("built", ["--db", "{root}/other.duckdb", "--as-of", AS_OF]),
    ("fresh", ["--vars", "[1, 2]"]),
    ("fresh", ["--vars", "{days: 7"]),
    ("fresh", ["--vars=days"]),
    ("fresh", ["--as-of", "2025-13-01"]),
    ("fresh", ["--as-of", "yesterday", "--vars", "{days: 7}"]),
    ("fresh", ["--vars", "oops", "--as-of", "yesterday"]),  # which error wins: the order matters too
    ("fresh", ["--project-dir", "{root}/nowhere", "--as-of", "yesterday"]),
    ("fresh", ["--select", "no_such_model", "--as-of", AS_OF]),
    ("fresh", ["--vars", "{days: 0}", "--as-of", AS_OF]),
    ("failing", ["--as-of", AS_OF]),  # a data test fails: exit 1, nothing published
    ("failing", ["--select", "checks", "--as-of", AS_OF]),
]
REFUSED = [
    ("fresh", ["run", "--help"]),
    ("built", ["run", "--full-refresh=1", "--as-of", AS_OF]),
    ("built", ["run", "--full-refresh", "--full-refresh", "--as-of", AS_OF]),
    ("fresh", ["run", "--select"]),
    ("fresh", ["run", "--select="]),
    ("fresh", ["run", "-s", "segments", "-s", "stg_leads"]),
    ("fresh", ["run", "-s", "segments", "--select", "stg_leads"]),
    ("fresh", ["run", "--bogus"]),
    ("fresh", ["run", "extra"]),
    ("fresh", ["run", "--vars", "-1"]),
    ("fresh", ["--debug", "run", "--as-of", AS_OF]),
    ("fresh", ["--debug", "run", "--vars", "oops"]),
]


def checks_model(root: Path) -> None:
    """A model whose not_null test fails (as in tests/test_data_tests.py)."""
    (root / "models" / "checks.sql").write_text("select * from (values (1, null), (2, 5)) as t(id, v)\n")
    (root / "models" / "checks.yml").write_text(
        "models:\n  - name: checks\n    columns:\n      - name: v\n        tests:\n          - not_null\n")


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """The projects each run starts from a copy of, never run: `fresh` and `failing`."""
    base = tmp_path_factory.mktemp("projects")
    fresh = make_project(base / "fresh", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    failing = base / "failing"
    shutil.copytree(fresh, failing)
    checks_model(failing)
    return {"fresh": fresh, "failing": failing}


def outcomes(projects: dict, start: str, argv: list[str], tmp_path: Path, env=None) -> dict[str, tuple]:
    """Each path's exit code, stdout, stderr, files and tables after `argv` on its own copy of
    `start`; the two run side by side. `built` is `fresh` run once with `--as-of 2025-01-31` in
    the copy itself: fingerprints name source files by path, so a built project's copy is not
    up to date."""
    env = env or environment()
    roots = {name: tmp_path / name for name in ("fast", "typer")}
    for root in roots.values():
        shutil.copytree(projects["fresh" if start == "built" else start], root)
    if start == "built":
        _wait([_start(FAST, ["run", "--as-of", AS_OF], root, env) for root in roots.values()])
    started = {name: _start(command, [a.replace("{root}", str(roots[name])) for a in argv], roots[name], env)
               for name, command in (("fast", FAST), ("typer", TYPER))}
    return {name: _seen(roots[name], process) for name, process in started.items()}


def try_folder(tmp_path: Path) -> Path:
    """A new folder for each try of on_one_utc_day (outputs name it `{root}`, so its name does not matter)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def _start(command: list[str], args: list[str], root: Path, env) -> subprocess.Popen:
    return subprocess.Popen([*command, *args], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stdout + stderr


def _seen(root: Path, process: subprocess.Popen) -> tuple:
    """Its exit code, normalised stdout and stderr, the files in the project folder, every table's rows."""
    stdout, stderr = process.communicate(timeout=300)
    normal = [TIMES.sub("#.##s", text.replace(str(root), "{root}")) for text in (stdout, stderr)]
    names = sorted(p.name for p in root.iterdir())
    return process.returncode, *normal, names, {name: tables(root / name) for name in names if name.endswith(".duckdb")}


def tables(path: Path) -> dict:
    """Every relation but segpipe_meta's (fingerprints and run metadata), with its rows in order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        relations = con.execute("select table_schema, table_name from information_schema.tables "
                                "where table_schema <> 'segpipe_meta' order by all").fetchall()
        return {f"{s}.{t}": con.execute(f'select * from "{s}"."{t}" order by all').fetchall() for s, t in relations}
    finally:
        con.close()


@pytest.mark.parametrize("start,args", ACCEPTED, ids=[f"{s}: {' '.join(a)}" for s, a in ACCEPTED])
def test_the_fast_path_runs_what_typer_runs(projects, tmp_path, start, args):
    assert entry.fast_command(["run", *[a.replace("{root}", str(tmp_path)) for a in args]]) is not None  # really the fast path
    _, seen = on_one_utc_day(lambda: outcomes(projects, start, ["run", *args], try_folder(tmp_path)))
    assert seen["fast"] == seen["typer"]


def test_the_examples_build_test_and_fail(projects, tmp_path):
    """The comparisons above are not only of error lines: runs build, skip and fail."""
    built = outcomes(projects, "fresh", ["run", "--as-of", AS_OF], tmp_path / "built")["fast"]
    assert built[0] == 0 and built[1].endswith("in #.##s — published out.duckdb\n")
    assert built[4]["out.duckdb"]["main.segment_performance"]
    again = outcomes(projects, "built", ["run", "--as-of", AS_OF], tmp_path / "again")["fast"]
    assert (again[0], again[2]) == (0, "")
    assert again[1].endswith(f"1 failing row (not rebuilt since tested)\n{' ' * 13}e.g. send_id=12, lead_id=8, "
                             "campaign_id=30, sent_at=NULL\n"
                             f"Nothing to do: all {BUILT_IN_MODELS} models are up to date in out.duckdb\n")
    failed = outcomes(projects, "failing", ["run", "--as-of", AS_OF], tmp_path / "failed")["fast"]
    assert failed[0] == 1 and failed[2].startswith("Error: 1 data test failed, nothing published: not_null_checks_v")
    assert "out.duckdb" not in failed[3]


@pytest.mark.parametrize("start,argv", REFUSED, ids=[f"{s}: {' '.join(a)}" for s, a in REFUSED])
def test_anything_else_goes_to_typer(projects, tmp_path, start, argv):
    assert entry.fast_command(argv) is None
    _, seen = on_one_utc_day(lambda: outcomes(projects, start, argv, try_folder(tmp_path)))
    fast, typer_path = seen.values()
    if argv[:1] == ["--debug"]:  # a traceback: its outer frames name the entry point
        fast, typer_path = [(code, out, err.splitlines()[-1:], *rest) for code, out, err, *rest in (fast, typer_path)]
    assert fast == typer_path


def test_segpipe_debug_goes_to_typer_for_its_traceback(projects, tmp_path):
    fast = outcomes(projects, "fresh", ["run", "--vars", "oops"], tmp_path, environment(SEGPIPE_DEBUG="1"))["fast"]
    lines = fast[2].splitlines()
    assert fast[0] == 2 and "typer" in fast[2]  # the traceback, and the exit code of SPEC §7
    assert lines[-2].startswith("segpipe.errors.ConfigError: --vars must be a YAML or JSON mapping")
    assert lines[-1].startswith("Error: --vars must be a YAML or JSON mapping")


def test_the_fast_path_does_not_import_typer(projects, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(projects["fresh"], root)
    probe = ("import sys\n"
             f"sys.argv = ['segpipe', 'run', '--as-of', '{AS_OF}']\n"
             "from segpipe.entry import main\n"
             "try:\n"
             "    main()\n"
             "finally:\n"
             "    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, env=environment(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "— published out.duckdb" in done.stdout
    loaded = set(done.stderr.split())
    assert "segpipe.runner" in loaded
    assert {m for m in loaded if m.split(".")[0] in ("typer", "click") or m == "segpipe.cli"} == set()


@pytest.mark.parametrize("argv,expected", [
    (["run"], {}),
    (["run", "--full-refresh"], {"full_refresh": True}),
    (["run", "-s", "+segment_leads", "--vars={a: b=c}"], {"select": "+segment_leads", "vars_": "{a: b=c}"}),
    (["run", "--select=a b", "--db", "x.duckdb", "--as-of", AS_OF, "--project-dir", "p"],
     {"select": "a b", "db": "x.duckdb", "as_of": AS_OF, "project_dir": Path("p")}),
    (["run", "--full-refresh=1"], None),
    (["run", "--full-refresh", "x"], None),
    (["run", "-s=a"], None),  # click would read `=a` as the value
    (["run", "--as-of", "--full-refresh"], None),
    (["run", "--"], None),
])
def test_the_parser(argv, expected):
    assert entry.fast_command(argv) == (None if expected is None else ("run", expected))
