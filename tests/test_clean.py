"""`segpipe clean` (dbt's): target/ and dead runs' build files go, the published file stays."""

from __future__ import annotations

from tests.conftest import run_segpipe
from tests.test_lock import RUN, HeldLock, project  # noqa: F401  (the fixture)
from tests.test_publish import leftovers, sha256


def test_clean_removes_target_and_leftover_build_files_only(project):  # noqa: F811
    root, db, before = project
    assert (root / "target" / "compiled").is_dir()
    dead = db.with_name(db.name + ".building-999999")
    dead.write_bytes(b"half a build")
    result = run_segpipe("clean", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Removed target/\nRemoved 1 leftover build file of out.duckdb\n"
    assert not (root / "target").exists() and leftovers(db) == []
    assert sha256(db) == before
    assert run_segpipe(*RUN, "--project-dir", root).returncode == 0  # and a run works after it


def test_clean_keeps_a_running_builds_file_and_never_deletes_through_a_link(project, tmp_path):  # noqa: F811
    root, db, before = project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    (root / "target").rename(root / "old_target")
    (root / "target").symlink_to(elsewhere, target_is_directory=True)
    building = db.with_name(db.name + ".building-4242")
    building.write_bytes(b"a build in progress")
    lock = HeldLock(db)
    try:
        result = run_segpipe("clean", "--project-dir", root)
    finally:
        lock.release()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Removed the link target (not what it points to)\n"
                             "Kept the build files of out.duckdb: a segpipe run is building it now\n")
    assert (elsewhere / "keep.txt").read_text() == "mine\n"
    assert building.exists() and sha256(db) == before


def test_clean_removes_the_folder_a_killed_build_spilled_to(project):  # noqa: F811
    root, db, before = project
    spill = db.with_name(db.name + ".building-999999.tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    result = run_segpipe("clean", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert leftovers(db) == [] and sha256(db) == before


def test_a_second_clean_has_nothing_to_clean(project):  # noqa: F811
    root, db, before = project
    assert run_segpipe("clean", "--project-dir", root).stdout == "Removed target/\n"
    # loading project.yml caches its parse in target/: that is not what the user had there
    again = run_segpipe("clean", "--project-dir", root)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Nothing to clean\n"
    assert not (root / "target").exists() and sha256(db) == before
