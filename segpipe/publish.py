"""Atomic publishing of the DuckDB file (SPEC §8).

A run builds into `<db>.building-<pid>` beside the published file and, only
when everything passed, renames it over the published file. A rename within a
folder is atomic, so readers see the old file or the new one, never a mix; a
BI tool holding the old file open keeps reading its (unlinked) snapshot.
A lock file stops a second concurrent run; the kernel drops the lock when a
run dies, and the next run deletes what the dead one left behind.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
from pathlib import Path

from .errors import ConfigError, LockedError, RunError


class BuildFile:
    """The lock, the private build file, and the final rename for one published database."""

    def __init__(self, published: Path):
        self.published = Path(published)
        self.lock_path = self.published.with_name(self.published.name + ".lock")
        self.path = self.published.with_name(f"{self.published.name}.building-{os.getpid()}")
        self._lock_fd: int | None = None

    def __enter__(self) -> "BuildFile":
        try:
            self.published.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot write the database {self.published}: {exc.strerror} — set `database` in "
                              "project.yml (or --db) to a file in a folder segpipe can write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(f"another segpipe run (pid {holder}) is building {self.published} — wait for it to finish, then run again") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        self.remove_leftovers()
        return self

    def __exit__(self, *exc) -> None:
        self.discard()
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove_leftovers(self) -> None:
        """Delete build files of runs that died (we hold the lock, so none is alive)."""
        for leftover in self.published.parent.glob(glob.escape(self.published.name) + ".building-*"):
            leftover.unlink(missing_ok=True)

    def start_from_published(self) -> bool:
        """Begin the build as a copy of the published file (for --select and incremental runs)."""
        if not self.published.exists():
            return False
        shutil.copyfile(self.published, self.path)
        return True

    def publish(self) -> None:
        """fsync the finished build file and rename it over the published one."""
        wal = Path(str(self.path) + ".wal")
        if wal.exists():
            raise RunError(f"{self.path}: DuckDB left a write-ahead log after closing — not publishing an unfinished file")
        with open(self.path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.path, self.published)
        dir_fd = os.open(self.published.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def discard(self) -> None:
        for path in (self.path, Path(str(self.path) + ".wal")):
            path.unlink(missing_ok=True)
