"""The typer-free `segpipe top` (segpipe/entry.py) behaves exactly as the typer command.

Both run as real processes on the demo project, built once: the fast path as
users reach it (`python -m segpipe`, the console script's entry) and the typer
path forced through `segpipe.cli` with the same program name. Stdout, stderr,
exit code and any --output file must be identical. Command lines the fast path
refuses must reach typer and end exactly as they do there.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from segpipe import entry
from tests.conftest import REPO, on_one_utc_day

AS_OF = "2026-11-15"
FAST = [sys.executable, "-m", "segpipe"]
TYPER = [sys.executable, "-c", "from segpipe.cli import app; app(prog_name='python -m segpipe')"]


def environment(**extra: str) -> dict[str, str]:
    """The processes' environment: the session's as it is now (read when called, not at import,
    so the private HOME of tests/conftest.py is in it), this checkout's segpipe first."""
    return {**{k: v for k, v in os.environ.items() if k != "SEGPIPE_DEBUG"},
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **extra}


#: an example value for every option of top ({out} is a folder of each process's own)
EXAMPLES = {"--project-dir": "{project}", "--db": "segpipe.duckdb", "--days": "90", "--metric": "open_rate",
            "--limit": "3", "--workspace-id": "1", "--as-of": AS_OF, "--min-sent": "50", "--format": "json",
            "--output": "{out}/top.txt", "-o": "{out}/top.txt", "--rank-by": "wilson"}
#: both forms of an option of each kind (the options themselves are declared once, options.py)
SOME = ("--project-dir", "--days", "--metric", "--output", "-o", "--rank-by")
BOTH_FORMS = [[flag, EXAMPLES[flag]] for flag in SOME] + [[f"{flag}={EXAMPLES[flag]}"] for flag in SOME if flag.startswith("--")]
ACCEPTED = [
    [],
    ["--as-of", AS_OF],
    *[[*given, "--as-of", AS_OF] if "--as-of" not in given[0] else given for given in BOTH_FORMS],
    ["--as-of", AS_OF, "--format", "csv", "--metric", "click_rate", "--days", "365"],
    ["--as-of", AS_OF, "--format=json", "--metric=conversion_rate", "--workspace-id=2", "--min-sent=0", "--limit=100"],
    ["--project-dir={project}", "--db={project}/segpipe.duckdb", "--days=7", "--metric=bounce_rate", "--limit=2",
     "--workspace-id=3", "--as-of=2026-11-01", "--min-sent=1", "--format=csv", "--output={out}/top.csv"],
    ["--as-of", AS_OF, "--workspace-id", "999"],
    ["--as-of", AS_OF, "--metric", "reply"],
    ["--as-of", "2026-13-01"],
    ["--as-of", "yesterday"],
    ["--as-of", AS_OF, "--db", "missing.duckdb"],
    ["--project-dir", "{empty}"],
    ["--as-of", AS_OF, "--limit", "0"],
    ["--as-of", AS_OF, "--days", "0"],
    ["--as-of", AS_OF, "--days", "400"],
    ["--as-of", AS_OF, "--format", "xml"],
    ["--as-of", AS_OF, "-o", "{empty}/no/such/folder/top.txt"],
]
REFUSED = [
    ["top", "--help"],
    ["top", "--bogus"],
    ["top", "--days", "abc"],
    ["top", "--days", "1_0"],
    ["top", "--days", "-5"],
    ["top", "--limit", "1" * 4301],  # beyond Python's int() (4300 digits): click's one line, not a traceback
    ["top", "--days"],
    ["top", "--metric="],
    ["top", "--days", "7", "--days", "8"],
    ["top", "-o", "{out}/a.txt", "--output", "{out}/b.txt"],
    ["top", "extra"],
    ["top", "--as-of", AS_OF, "--", "--days", "7"],
    ["--debug", "top", "--metric", "reply"],
    ["--version", "top"],
    ["ls", "--project-dir", "{project}"],
    [],
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The repository's demo project, built once with `segpipe run --as-of 2026-11-15`."""
    root = tmp_path_factory.mktemp("demo")
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "project.yml", root / "project.yml")
    done = subprocess.run([*FAST, "run", "--as-of", AS_OF], cwd=root, env=environment(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (root / "empty").mkdir()
    return root


def outcome(command, argv, demo, out: Path, env=None):
    """Exit code, stdout, stderr and the files written to `out`, run in the demo folder."""
    shutil.rmtree(out, ignore_errors=True)  # a second try (see on_one_utc_day) starts empty too
    out.mkdir()
    argv = [a.format(project=demo, empty=demo / "empty", out=out) for a in argv]
    done = subprocess.run([*command, *argv], cwd=demo, env=env or environment(), capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr, {p.name: p.read_bytes() for p in out.iterdir()}


@pytest.mark.parametrize("args", ACCEPTED, ids=" ".join)
def test_the_fast_path_prints_and_writes_what_typer_does(demo, tmp_path, args):
    assert entry.fast_command(["top", *args]) is not None  # really the fast path
    day, (fast, typer_path) = on_one_utc_day(lambda: (outcome(FAST, ["top", *args], demo, tmp_path / "fast"),
                                                      outcome(TYPER, ["top", *args], demo, tmp_path / "typer")))
    assert fast == typer_path
    if not args:  # the default window: 30 days ending today (UTC)
        start = day - dt.timedelta(days=29)
        assert fast[1].splitlines()[0].endswith(f"by reply_rate, {start} to {day} (30 UTC days)")


def test_the_examples_succeed(demo, tmp_path):
    """The comparison above is not only of error lines: the examples print rankings."""
    code, stdout, stderr, files = outcome(FAST, ["top", "--as-of", AS_OF, "--format=csv", "-o", "{out}/t.csv"],
                                          demo, tmp_path / "out")
    assert (code, stdout, stderr) == (0, "", "")
    assert files["t.csv"].startswith(b"segment_id,segment_name,leads_sent,") and files["t.csv"].count(b"\n") == 6


def test_a_comparison_that_straddles_midnight_is_done_again(monkeypatch):
    """on_one_utc_day (tests/conftest.py), with a clock that passes midnight during the first try."""
    import tests.conftest as conftest

    # the date read before and after each try: Jan 1 -> Jan 2 (straddles), then Jan 2 -> Jan 2
    clock = iter([dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 2), dt.date(2026, 1, 2)])
    monkeypatch.setattr(conftest, "utc_today", lambda: next(clock))
    tries = []

    def action():
        tries.append("try")
        return len(tries)

    assert conftest.on_one_utc_day(action) == (dt.date(2026, 1, 2), 2)  # the second try's day and result
    assert next(clock, None) is None


@pytest.mark.parametrize("argv", REFUSED, ids=" ".join)
def test_anything_else_goes_to_typer(demo, tmp_path, argv):
    assert entry.fast_command(argv) is None
    _, (fast, typer_path) = on_one_utc_day(lambda: (outcome(FAST, argv, demo, tmp_path / "fast"),
                                                    outcome(TYPER, argv, demo, tmp_path / "typer")))
    if argv[:1] == ["--debug"]:  # a traceback: its outer frames name the entry point
        fast, typer_path = [(code, out, err.splitlines()[-1], files) for code, out, err, files in (fast, typer_path)]
    assert fast == typer_path


def test_segpipe_debug_goes_to_typer_for_its_traceback(demo, tmp_path):
    env = environment(SEGPIPE_DEBUG="1")
    fast = outcome(FAST, ["top", "--metric", "reply"], demo, tmp_path / "fast", env)
    lines = fast[2].splitlines()
    assert fast[0] == 2 and "typer" in fast[2] and lines[-2].startswith("segpipe.errors.ConfigError: --metric must be one of ")
    assert lines[-1].startswith("Error: --metric must be one of ")


@pytest.mark.parametrize("name,value", [("SEGPIPE_DEBUG", "1"), ("_SEGPIPE_COMPLETE", "bash_complete")])
def test_debugging_and_completion_requests_are_typer_s(monkeypatch, name, value):
    monkeypatch.delenv("SEGPIPE_DEBUG", raising=False)
    assert entry._plain_environment()
    monkeypatch.setenv(name, value)
    assert not entry._plain_environment()


def test_an_ascii_stdout_is_typer_s(monkeypatch):
    """click rewraps an ASCII-encoded stream as UTF-8; the fast path leaves that to it."""
    class Ascii:
        encoding = "ascii"

    monkeypatch.setattr(sys, "stdout", Ascii())
    assert not entry._plain_environment()


def test_the_fast_path_does_not_import_typer(demo):
    probe = ("import sys\n"
             f"sys.argv = ['segpipe', 'top', '--as-of', '{AS_OF}']\n"
             "from segpipe.entry import main\n"
             "try:\n"
             "    main()\n"
             "finally:\n"
             "    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=demo, env=environment(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Top 5 segments by reply_rate")
    loaded = set(done.stderr.split())
    assert "segpipe.top" in loaded
    assert {m for m in loaded if m.split(".")[0] in ("typer", "click") or m == "segpipe.cli"} == set()


@pytest.mark.parametrize("text,nl,err", [("plain", True, False), ("", False, False), ("", True, True),
                                         ("\033[31mred\033[0m and \033[1;4mbold\033[m é", False, False),
                                         ("Error: \033[2Jcleared", True, True)])
def test_echo_prints_what_typer_echo_prints(capsys, text, nl, err):
    """Off a terminal, click strips ANSI escape codes; the fast echo must too."""
    typer.echo(text, nl=nl, err=err)
    expected = capsys.readouterr()
    entry.echo(text, nl=nl, err=err)
    assert capsys.readouterr() == expected
