"""SPEC §7/§8: the project's lock — exit 75 while another run holds it, `--wait [SECONDS]`,
and never writing through a link planted where segpipe writes its own files."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.test_publish import leftovers, sha256

RUN = ("run", "--as-of", AS_OF.isoformat())


@pytest.fixture
def project(tmp_path):
    """A published project: (root, db, the db's sha256)."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    first = run_segpipe(*RUN, "--project-dir", root)
    assert first.returncode == 0, first.stderr
    db = root / "out.duckdb"
    return root, db, sha256(db)


class HeldLock:
    """The project's lock held by this test process, as a running `segpipe run` holds it."""

    def __init__(self, db: Path, pid: str = "4242"):
        self.fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, pid.encode())

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def test_wait_with_seconds_runs_out_with_exit_75(project):
    root, db, before = project
    lock = HeldLock(db)
    try:
        started = time.monotonic()
        result = run_segpipe(*RUN, "--project-dir", root, "--full-refresh", "--wait", "0.5")
        waited = time.monotonic() - started
    finally:
        lock.release()
    assert result.returncode == 75
    assert result.stderr == (f"Error: another segpipe run (pid 4242) is still building {db} after waiting 0.5s — "
                             "run again later, or with a longer --wait\n")
    assert "Waiting for the segpipe run (pid 4242) building out.duckdb to finish (up to 0.5s)…" in result.stdout
    assert waited >= 0.5
    assert sha256(db) == before


@pytest.mark.parametrize("wait_args", [["--wait"], ["--wait", "60"]], ids=["alone", "seconds"])
def test_wait_builds_once_the_other_run_finishes(project, wait_args):
    root, db, before = project
    (root / "seeds" / "segments.yml").write_text((root / "seeds" / "segments.yml").read_text()
                                                 + "- id: 99\n  name: Added while waiting\n")
    lock = HeldLock(db)
    # `--wait` last on the command line, so the bare form cannot take the next word as its value
    proc = subprocess.Popen([sys.executable, "-m", "segpipe", *RUN, "--project-dir", str(root), *wait_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("Waiting for the segpipe run (pid 4242) building out.duckdb to finish"), line
        assert proc.poll() is None
    finally:
        lock.release()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "published out.duckdb" in out
    assert sha256(db) != before


def test_a_bad_wait_value_is_a_usage_error(project):
    root, db, before = project
    result = run_segpipe(*RUN, "--project-dir", root, "--wait", "soon")
    assert result.returncode == 2
    assert result.stderr == ("Error: --wait takes a number of seconds such as 60 (or nothing, to wait as long as "
                             "it takes), got 'soon'\n")


@pytest.mark.parametrize("link, message", [
    (Path.symlink_to, "is a symbolic link — segpipe never writes through one (it would overwrite the file it points "
                      "to); remove the link, segpipe creates its own lock"),
    (Path.hardlink_to, "is not a plain file of its own (a hard link or a device) — segpipe would overwrite it; "
                       "remove it, segpipe creates its own lock"),
], ids=["symlink", "hard-link"])
def test_a_linked_lock_is_refused_and_its_target_untouched(project, link, message):
    """Issue 11: `ln -s victim.txt segpipe.duckdb.lock; segpipe run` truncated victim.txt."""
    root, db, before = project
    victim = root / "victim.txt"
    victim.write_text("precious\n")
    lock = db.with_name(db.name + ".lock")
    lock.unlink()
    link(lock, victim)
    result = run_segpipe(*RUN, "--project-dir", root, "--full-refresh")
    assert result.returncode == 2
    assert result.stderr == f"Error: {lock}: {message}\n"
    assert victim.read_text() == "precious\n"
    assert sha256(db) == before


def test_links_planted_where_segpipe_writes_its_files_are_not_followed(project):
    """A build file's name, run_results.json, compiled SQL and the parse caches: each a link
    to a victim file. The run replaces or removes the links; the victims keep their text."""
    root, db, _ = project
    victims = {}
    planted = [db.with_name(f"{db.name}.building-{n}") for n in (1, 2)]
    planted += [root / "target" / "run_results.json", root / "target" / "project.yml.json",
                root / "target" / "compiled" / "models" / "segments.sql",
                root / "target" / "parsed" / "seeds" / "segments.yml.lines.json"]
    for number, link in enumerate(planted):
        victim = root / f"victim{number}.txt"
        victim.write_text(f"precious {number}\n")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(victim)
        victims[victim] = f"precious {number}\n"
    (root / "seeds" / "segments.yml").write_text((root / "seeds" / "segments.yml").read_text() + "\n# changed\n")
    (root / "project.yml").write_text((root / "project.yml").read_text() + "\n# changed\n")
    result = run_segpipe(*RUN, "--project-dir", root, "--full-refresh")
    assert result.returncode == 0, result.stderr
    assert {victim: victim.read_text() for victim in victims} == victims
    assert leftovers(db) == []
    for link in planted[2:4]:  # rewritten by every run: replaced by a file of segpipe's own
        assert not link.is_symlink() and link.is_file(), link


def test_run_info_publishes_only_the_vars_a_reader_needs(project):
    """Every BI user reads the published file: a --vars secret must not be in it."""
    import json

    import duckdb

    root, db, _ = project
    result = run_segpipe(*RUN, "--project-dir", root, "--full-refresh",
                         "--vars", "{api_token: s3cr3t-t0ken-4242, days: 7, attribution: campaign}")
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        stored = json.loads(con.execute("select vars from segpipe_meta.run_info").fetchone()[0])
    assert stored == {"as_of": AS_OF.isoformat(), "attribution": "campaign", "days": 7}
    assert b"s3cr3t-t0ken-4242" not in db.read_bytes()


def test_the_folder_a_killed_build_spilled_to_is_removed_by_the_next_run(project):
    """DuckDB spills what does not fit in memory to `<build file>.tmp/`; a run killed (say by
    the OOM killer) leaves that folder. The next run removes it like the build file, and runs."""
    root, db, _ = project
    spill = db.with_name(f"{db.name}.building-99999.tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    db.with_name(f"{db.name}.building-99999").write_bytes(b"half a build")
    (root / "seeds" / "segments.yml").write_text((root / "seeds" / "segments.yml").read_text() + "\n# changed\n")
    result = run_segpipe(*RUN, "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert leftovers(db) == []


@pytest.mark.parametrize("args", [RUN, (*RUN, "--select", "segments")], ids=["full", "select"])
def test_a_folder_where_the_database_goes_is_one_line_before_anything_is_built(project, args):
    """`--db exports` (a folder) built everything, then failed the rename: 'unexpected IsADirectoryError', exit 1."""
    root, _, _ = project
    folder = root / "exports"
    folder.mkdir()
    result = run_segpipe(*args, "--project-dir", root, "--db", folder)
    assert (result.returncode, result.stderr) == (
        2, f"Error: cannot write the database {folder}: it is a folder — set `database` in project.yml (or --db) "
           "to a file, such as segpipe.duckdb\n")
    assert "model" not in result.stdout
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("exports")) == ["exports"]


def test_a_run_refused_by_the_lock_leaves_the_compiled_sql_of_the_run_holding_it(project):
    """target/compiled is what the run building the file runs (errors point there): a run
    refused with exit 75, here with other vars, must not overwrite it; nor run_results.json,
    which said 'error' until the other run finished."""
    root, db, _ = project
    results = (root / "target" / "run_results.json").read_bytes()
    compiled = {path: path.read_bytes() for path in (root / "target" / "compiled").rglob("*.sql")}
    assert any(b"interval" in text.lower() for text in compiled.values())
    lock = HeldLock(db)
    try:
        result = run_segpipe(*RUN, "--project-dir", root, "--vars", "{days: 7}")
    finally:
        lock.release()
    assert result.returncode == 75
    assert {path: path.read_bytes() for path in (root / "target" / "compiled").rglob("*.sql")} == compiled
    assert (root / "target" / "run_results.json").read_bytes() == results
    assert run_segpipe(*RUN, "--project-dir", root, "--vars", "{days: 7}").returncode == 0
    assert {path: path.read_bytes() for path in (root / "target" / "compiled").rglob("*.sql")} != compiled
