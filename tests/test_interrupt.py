"""SPEC §8: Ctrl-C or SIGTERM during a long query stops the run at once, in one line,
with the published file as it was and the build file removed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.test_lock import RUN, project  # noqa: F401  (the fixture)
from tests.test_publish import leftovers, sha256

#: built last (it reads segment_performance), so the signal lands in its query, not in a
#: Python import DuckDB may be doing (it imports pandas, when installed, on the first
#: bound parameter: seconds on a busy machine, and no interrupt stops an import)
SLOW_MODEL = ("select count(*) as n from range(50000000000) as t(i), "
              "(select count(*) as c from {{ ref('segment_performance') }}) as p where i % 7 = 3 + p.c * 0\n")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_a_query_stops_the_run_in_one_line(project, signum, code):  # noqa: F811
    root, db, before = project
    (root / "models" / "slow.sql").write_text(SLOW_MODEL)
    proc = subprocess.Popen([sys.executable, "-m", "segpipe", *RUN, "--project-dir", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # progress: one line per node as it finishes
        if " segment_performance " in line:
            break
    time.sleep(1.0)  # inside the slow model: it runs for minutes
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)  # DuckDB's own check took up to 6 s; measured: benchmarks/interrupt.py
    assert proc.returncode == code
    assert err == "Error: interrupted — the published database was not changed\n"
    assert sha256(db) == before
    assert leftovers(db) == []  # the build file and its WAL are gone


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signals_after_the_run_published_do_not_kill_its_exit(project, signum):  # noqa: F811
    """Once published, a signal is ignored and the run exits 0 (SPEC §7, §8); Python's shutdown
    restored the default action, so a signal in the last milliseconds killed the process (-15)
    after it had published. Signals here come every millisecond from 'Done:' to the end."""
    root, db, _ = project
    proc = subprocess.Popen([sys.executable, "-m", "segpipe", *RUN, "--project-dir", str(root), "--full-refresh"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("Done:"):
            break
    while proc.poll() is None:
        proc.send_signal(signum)
        time.sleep(0.001)
    assert (proc.returncode, proc.stderr.read()) == (0, "")


def test_ctrl_c_while_waiting_for_the_lock(project):  # noqa: F811
    """Waiting (--wait) is a sleep in Python: the signal ends it the same way."""
    from tests.test_lock import HeldLock

    root, db, before = project
    lock = HeldLock(db)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "segpipe", *RUN, "--project-dir", str(root), "--wait"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().startswith("Waiting for the segpipe run (pid 4242)")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        lock.release()
    assert proc.returncode == 130
    assert err == "Error: interrupted — the published database was not changed\n"
    assert sha256(db) == before


def test_ctrl_c_while_duckdb_initialises_is_an_interruption():
    """Ctrl-C while `import duckdb` runs its C++ module's initialisation comes back as
    ImportError('initialization failed') caused by the KeyboardInterrupt: it was reported as
    an unexpected error with exit 1, not as the interruption it is."""
    from segpipe.errors import one_line

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt
    except ImportError as exc:
        assert one_line(exc) == ("Error: interrupted — the published database was not changed", 130)


def test_a_signal_once_the_file_is_renamed_into_place_lets_the_run_finish(project, monkeypatch):  # noqa: F811
    """SIGTERM right after the build file replaced the published one: the run had already
    published, so it finishes and says so; it stopped with 'the published database was not
    changed' (exit 143) over a file it had just changed."""
    import os

    from segpipe import pipeline
    from segpipe.errors import InterruptedRun
    from segpipe.project import load_project
    from tests.datasets import AS_OF

    root, db, before = project
    (root / "seeds" / "segments.yml").write_text((root / "seeds" / "segments.yml").read_text() + "\n# changed\n")
    rename = os.replace

    def rename_then_signal(source, target):
        rename(source, target)
        if str(target) == str(db):
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(os, "replace", rename_then_signal)
    lines = []
    try:
        pipeline.run(load_project(root), as_of=AS_OF, full_refresh=True, echo=lines.append)
    except InterruptedRun:
        pytest.fail(f"stopped after publishing, saying the file was not changed (it changed: {sha256(db) != before})")
    assert lines[-1].startswith("Done: ")
    assert sha256(db) != before and leftovers(db) == []


def test_sigterm_while_compiling_is_one_line_too(project, monkeypatch):  # noqa: F811
    """SIGTERM before the build begins (loading the project, rendering the models) stops the
    run as Ctrl-C does, with InterruptedRun (one line, exit 143): the default handler ended the
    process without a word."""
    import os

    from segpipe import pipeline
    from segpipe.errors import InterruptedRun
    from tests.datasets import AS_OF

    root, db, before = project
    compile_plan = pipeline.compile_plan

    def compile_then_signal(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return compile_plan(*args, **kwargs)

    monkeypatch.setattr(pipeline, "compile_plan", compile_then_signal)
    unheard = []  # stands in for the default handler, which would end pytest itself
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: unheard.append(signum))
    try:
        with pytest.raises(InterruptedRun) as stopped:
            pipeline.run_command(lambda line: None, project_dir=root, as_of=AS_OF.isoformat(), full_refresh=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.exit_code == 143 and unheard == []
    assert sha256(db) == before and leftovers(db) == []


def test_an_interrupted_run_is_what_run_results_json_reports(project, monkeypatch):  # noqa: F811
    """target/run_results.json is what the last run did: after a run stopped by SIGTERM it still
    said the run before had succeeded."""
    import json

    from segpipe import pipeline, runner
    from segpipe.errors import InterruptedRun
    from segpipe.project import load_project
    from tests.datasets import AS_OF

    root, db, before = project

    def stopped(*args, **kwargs):
        raise InterruptedRun(signal.SIGTERM)

    monkeypatch.setattr(runner, "_build", stopped)
    with pytest.raises(InterruptedRun):
        pipeline.run(load_project(root), as_of=AS_OF, full_refresh=True, echo=lambda line: None)
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert (results["status"], results["message"]) == ("error", "interrupted")
    assert sha256(db) == before


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_before_the_run_can_stop_is_one_line_once_it_can(project, signum, code):  # noqa: F811
    """A signal while Python still imports segpipe and DuckDB (a quarter of a second) ended the
    process without a word: the console script notes it from its first line and the run stops
    with its one line. Sent here before main() runs, in a real process."""
    root, db, before = project
    script = ("import os, signal, sys\n"
              "from segpipe.interrupt import hold_stop_signals\n"
              "hold_stop_signals()\n"
              f"os.kill(os.getpid(), {int(signum)})\n"
              "from segpipe.entry import main\n"
              f"sys.argv = ['segpipe', 'run', '--project-dir', {str(root)!r}, '--full-refresh']\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (code, "Error: interrupted — the published database was not changed\n")
    assert sha256(db) == before and leftovers(db) == []


def test_a_run_in_a_programs_own_process_gives_its_signal_handlers_back(project):  # noqa: F811
    """run_command holds SIGINT and SIGTERM until it can stop in one line; a program that runs it
    in its own process (this test, a scheduler) must get its own handlers back, or its Ctrl-C
    would only be noted from then on, and stop its next run at once."""
    from segpipe import pipeline
    from tests.datasets import AS_OF

    root, _, _ = project
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    pipeline.run_command(lambda line: None, project_dir=root, as_of=AS_OF.isoformat(), full_refresh=True)
    assert {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)} == before
