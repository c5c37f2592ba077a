"""SPEC §8: a disk that fills up during a run — one line saying so and naming the folder,
exit 1, the published file unchanged, nothing left behind; on a real full filesystem
(a small tmpfs mounted for the test, which needs root: skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_project
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS
from tests.test_publish import leftovers, sha256

SIZE = 24 * 1024 * 1024  # the published test project is ~3.4 MB; a build needs as much again


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """A 24 MB tmpfs of its own, so filling it disturbs nothing else."""
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mountpoint = tmp_path_factory.mktemp("small_disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def free_bytes(folder: Path) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def segpipe(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segpipe", "run", "--project-dir", str(root), "--as-of",
                           AS_OF.isoformat(), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def published(small_disk):
    root = make_project(small_disk / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)
    first = segpipe(root)
    assert first.returncode == 0, first.stderr
    return root, root / "out.duckdb"


@pytest.mark.parametrize("free, args", [
    (0, ["--full-refresh"]),                    # not even the lock's pid or the compiled SQL fits
    (64 * 1024, ["--full-refresh"]),            # DuckDB's first checkpoint fails
    (1024 * 1024, ["--full-refresh"]),
    (3 * 1024 * 1024, ["--full-refresh"]),      # the build almost fits
    (1024 * 1024, []),                          # the copy of the published file (incremental run) fails
], ids=["0", "64KiB", "1MiB", "3MiB", "1MiB-copy"])
def test_a_full_disk_is_one_line_and_changes_nothing(published, free, args):
    root, db = published
    before = sha256(db)
    segments = root / "seeds" / "segments.yml"  # a change, so that every run has something to build
    segments.write_text(segments.read_text() + f"- id: {1000 + len(segments.read_text())}\n  name: New\n")
    filler = root.parent / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free_bytes(root.parent) - free))
    try:
        result = segpipe(root, *args)
    finally:
        filler.unlink()
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: the disk is full: no space left in ")
    assert result.stderr.endswith(" — the published database was not changed; free some space and run again\n")
    assert result.stderr.count("\n") == 1
    folder = result.stderr.split("no space left in ", 1)[1].split(" — ")[0]
    assert Path(folder).is_dir() and Path(folder).is_relative_to(root)
    assert sha256(db) == before
    assert leftovers(db) == []
    again = segpipe(root)  # with space again, the next run builds and publishes
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("command", [
    ["export", "segment_leads", "--format", "csv"], ["export", "segment_leads", "--format", "parquet"],
    ["export", "segment_leads", "--format", "xlsx"], ["top", "--format", "csv"], ["top", "--format", "xlsx"],
], ids=["export-csv", "export-parquet", "export-xlsx", "top-csv", "top-xlsx"])
def test_an_output_file_on_a_full_disk_is_one_line_and_keeps_the_old_file(published, command):
    """An export to a full disk was 'unexpected IOException' (exit 1) or a zipfile traceback (xlsx),
    and left a 0-byte file where the last export was; `top --output` said exit 2."""
    root, db = published
    output = root / f"out.{command[-1]}"
    output.write_text("the last export\n")
    filler = root.parent / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * free_bytes(root.parent))
    try:
        result = subprocess.run([sys.executable, "-m", "segpipe", *command, "--output", str(output), "--project-dir",
                                 str(root), "--as-of", AS_OF.isoformat()], capture_output=True, text=True, timeout=60)
    finally:
        filler.unlink()
    assert (result.returncode, result.stderr) == (
        1, f"Error: --output: the disk is full: no space left in {root} — {output} was not written; free some "
           "space and try again\n")
    assert output.read_text() == "the last export\n"
    assert [p.name for p in root.iterdir() if p.name.startswith(f".{output.name}")] == []  # no temporary file left
    output.unlink()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The test project, published on an ordinary disk."""
    root = make_project(tmp_path_factory.mktemp("built") / "p", leads=LEADS, campaigns=CAMPAIGNS,
                        campaign_leads=SENDS, segments=SEGMENTS)
    assert segpipe(root).returncode == 0
    return root


@pytest.mark.parametrize("command", [
    ["export", "segment_leads", "--format", "csv"], ["export", "segment_leads", "--format", "xlsx"],
    ["top", "--format", "csv"], ["top", "--format", "xlsx"], ["trend", "1", "--format", "json"],
], ids=["export-csv", "export-xlsx", "top-csv", "top-xlsx", "trend-json"])
def test_an_output_device_that_is_full_is_one_line(built, command, tmp_path):
    """/dev/full, written in place as a shell would: the same line and exit 1 as a full disk, where
    it was 'unexpected IOException', exit 2, or a zipfile traceback; and no temporary file is left
    in $TMPDIR (xlsxwriter left the workbook's parts there, nine files at every attempt)."""
    root = built
    result = subprocess.run([sys.executable, "-m", "segpipe", *command, "--output", "/dev/full", "--project-dir",
                             str(root), "--as-of", AS_OF.isoformat()], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert (result.returncode, result.stderr) == (
        1, "Error: --output: the disk is full: no space left in /dev — /dev/full was not written; free some space "
           "and try again\n")
    assert list(tmp_path.iterdir()) == []
