"""SPEC §8: the published file is byte-identical after any failure, readers are never disturbed."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def published(tmp_path, cli):
    """A project with a successfully published database; returns (root, db path, its sha256)."""
    root = make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    db = root / "out.duckdb"
    return root, db, sha256(db)


def leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.glob(db.name + ".*") if not p.name.endswith(".lock"))


def test_broken_model_sql_leaves_published_file_identical(published, cli):
    root, db, before = published
    (root / "models" / "broken.sql").write_text("select no_such_column from {{ ref('segments') }}\n")
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: model broken (models/broken.sql) failed: Binder Error: Referenced column \"no_such_column\" not found")
    assert result.stderr.count("\n") == 1
    assert sha256(db) == before and leftovers(db) == []


def test_failing_data_test_blocks_publish(published, cli):
    root, db, before = published
    (root / "models" / "lead_ids.sql").write_text("select lead_id from {{ ref('segment_leads') }}\n")
    (root / "models" / "lead_ids.yml").write_text(textwrap.dedent("""\
        models:
          - name: lead_ids
            columns:
              - name: lead_id
                tests: [unique]
        """))
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1
    assert "FAIL  test   unique_lead_ids_lead_id" in result.stdout
    assert result.stderr.startswith("Error: 1 data test failed, nothing published: unique_lead_ids_lead_id (")
    assert sha256(db) == before and leftovers(db) == []


def test_bad_segments_file_builds_nothing(published, cli):
    root, db, before = published
    segments = root / "seeds" / "segments.yml"
    segments.write_text(segments.read_text().replace("filters:", "filtres:", 1))
    result = cli("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2
    assert result.stderr == f"Error: {segments}:5: segment 1: unknown key 'filtres' (did you mean 'filters'?)\n"
    assert result.stdout == ""  # nothing was built
    assert sha256(db) == before


def test_sigkill_mid_build_leaves_published_file_and_next_run_cleans_up(published):
    root, db, before = published
    (root / "models" / "slow.sql").write_text(
        "select count(*) as n from range(20000000000) as t(i) where i % 7 = 3\n")
    proc = subprocess.Popen([sys.executable, "-m", "segpipe", "run", "--project-dir", str(root),
                             "--as-of", AS_OF.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(".building-" in name for name in leftovers(db)):
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the slow model
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sha256(db) == before
    assert any(".building-" in name for name in leftovers(db))  # the dead run's file is still there
    (root / "models" / "slow.sql").unlink()
    again = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert again.returncode == 0, again.stderr
    assert leftovers(db) == []  # no build files, no WAL


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "select count(*), coalesce(sum(leads_sent), 0) from segment_performance"
    print(con.execute(query).fetchone(), flush=True)
    sys.stdin.readline()
    print(con.execute(query).fetchone(), flush=True)
""")


def test_run_succeeds_while_a_reader_holds_the_file_and_reader_keeps_old_snapshot(published):
    root, db, _ = published
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    first = reader.stdout.readline().strip()
    segments = root / "seeds" / "segments.yml"
    segments.write_text(segments.read_text() + "- id: 99\n  name: Added later\n")
    result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    reader.stdin.write("\n")
    reader.stdin.flush()
    second = reader.stdout.readline().strip()
    reader.wait(timeout=30)
    assert first == second  # consistent old snapshot
    fresh = duckdb.connect(str(db), read_only=True)
    assert fresh.execute("select count(*) from segment_performance").fetchone()[0] == len(SEGMENTS) + 1


def test_a_write_ahead_log_a_dead_client_left_is_not_replayed_onto_the_new_file(published):
    """A read-write client (the duckdb shell, a BI tool) that wrote and died leaves `<db>.wal`;
    DuckDB replays it onto whatever file has that name, so every reader of the new file saw the
    old client's writes."""
    root, db, _ = published
    writer = (f"import duckdb, os; con = duckdb.connect({str(db)!r}); "
              "con.execute('update segment_performance set replied = replied + 1000'); "
              "con.execute('create table left_by_a_client as select 1 as x'); os.kill(os.getpid(), 9)")
    assert subprocess.run([sys.executable, "-c", writer]).returncode == -signal.SIGKILL
    assert db.with_name(db.name + ".wal").exists()
    result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), "--full-refresh")
    assert result.returncode == 0, result.stderr
    assert leftovers(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select max(replied) from segment_performance").fetchone()[0] < 1000
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'left_by_a_client'").fetchone() == (0,)


def test_second_concurrent_run_stops_with_a_clear_message(published):
    root, db, before = published
    lock = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(lock, 0)
        os.write(lock, b"4242")
        result = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat(), "--full-refresh")
    finally:
        os.close(lock)
    assert result.returncode == 75  # SPEC §7: try again later
    assert result.stderr == (f"Error: another segpipe run (pid 4242) is building {db} — wait for it to finish, "
                             "or run again with --wait to wait for it\n")
    assert sha256(db) == before


def test_debug_shows_the_traceback(published):
    root, _, _ = published
    (root / "models" / "broken.sql").write_text("select from from\n")
    plain = run_segpipe("run", "--project-dir", root)
    debug = run_segpipe("--debug", "run", "--project-dir", root)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr


def test_a_database_path_that_cannot_be_written_is_one_line(tmp_path, cli):
    root = make_project(tmp_path / "p")
    result = cli("run", "--project-dir", root, "--db", "project.yml/x.duckdb", "--as-of", "2025-01-31")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"Error: cannot write the database {root.resolve() / 'project.yml' / 'x.duckdb'}: File exists — "
               "set `database` in project.yml (or --db) to a file in a folder segpipe can write to\n")


def test_dataset_folders_of_spark_runs_outlive_the_file_reading_them_by_one_run(published, cli):
    """`--engine spark` writes external models as `<db>.<model>.<id>/` folders. A run removes the
    ones no file reads (a killed Spark run's) and keeps the ones the file it replaces reads, for a
    BI tool still holding that file (SPEC §8); the run after it removes those."""
    root, db, _ = published
    read, stray, other = (root / f"out.duckdb.{name}" for name in
                          ("segment_leads.aaaaaaaaaaaa", "segment_leads.bbbbbbbbbbbb", "notes.not-a-run-id"))
    for folder in (read, stray, other):
        folder.mkdir()
    duckdb.sql(f"COPY (SELECT 1 AS x) TO '{read / 'part.parquet'}' (FORMAT parquet)")
    with duckdb.connect(str(db)) as con:  # as a Spark run publishes an external model
        con.execute(f"CREATE VIEW main.spark_external AS SELECT * FROM read_parquet('{read}/*.parquet')")
    run = lambda: cli("run", "--project-dir", root, "--full-refresh", "--as-of", AS_OF.isoformat())  # noqa: E731
    assert run().exit_code == 0
    assert (read.exists(), stray.exists(), other.exists()) == (True, False, True)
    assert run().exit_code == 0
    assert (read.exists(), other.exists()) == (False, True)
