"""Atomic publishing of the DuckDB file (SPEC §8).

A run builds into `<db>.building-<pid>` beside the published file and, only
when everything passed, renames it over the published file. A rename within a
folder is atomic, so readers see the old file or the new one, never a mix; a
BI tool holding the old file open keeps reading its (unlinked) snapshot.
A lock file stops a second concurrent run (or makes it wait, `--wait`); the
kernel drops the lock when a run dies, and the next run deletes what the dead
one left behind. segpipe never writes through a symbolic link: a link where the
lock goes is refused, one where a build file goes is removed as a leftover.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import math
import os
import shutil
import stat
import time
from pathlib import Path

from .errors import ConfigError, LockedError, RunError

#: how often a run waiting for the lock (--wait) tries again, in seconds
WAIT_POLL = 0.1


class BuildFile:
    """The lock, the private build file, and the final rename for one published database."""

    def __init__(self, published: Path, wait: float = 0, on_wait=None):
        """`wait`: seconds to wait for another run's lock (math.inf: as long as it takes);
        `on_wait(line)` hears once that this run is waiting."""
        self.published = Path(published)
        self.lock_path = self.published.with_name(self.published.name + ".lock")
        self.path = self.published.with_name(f"{self.published.name}.building-{os.getpid()}")
        self.wait = wait
        self.on_wait = on_wait
        self._lock_fd: int | None = None

    def __enter__(self) -> "BuildFile":
        fd = self._open_lock()
        try:
            self._take(fd)
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        self.remove_leftovers()
        return self

    def _open_lock(self) -> int:
        """The lock file, opened without following a symbolic link and refused when it is
        not a plain file of its own (a hard link to another file would be truncated)."""
        if self.published.is_dir():  # found now, not by the rename once everything is built
            raise ConfigError(f"cannot write the database {self.published}: it is a folder — set `database` in "
                              "project.yml (or --db) to a file, such as segpipe.duckdb")
        try:
            self.published.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ConfigError(f"{self.lock_path}: is a symbolic link — segpipe never writes through one (it would "
                                  "overwrite the file it points to); remove the link, segpipe creates its own lock") from None
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise ConfigError(f"cannot write the database {self.published}: {exc.strerror} — set `database` in "
                              "project.yml (or --db) to a file in a folder segpipe can write to") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise ConfigError(f"{self.lock_path}: is not a plain file of its own (a hard link or a device) — segpipe "
                              "would overwrite it; remove it, segpipe creates its own lock")
        return fd

    def _take(self, fd: int) -> None:
        """flock the lock file, waiting up to self.wait seconds for a running build."""
        deadline = time.monotonic() + self.wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            left = deadline - time.monotonic()
            if left <= 0:
                if self.wait:
                    raise LockedError(f"another segpipe run (pid {holder}) is still building {self.published} after "
                                      f"waiting {self.wait:g}s — run again later, or with a longer --wait") from None
                raise LockedError(f"another segpipe run (pid {holder}) is building {self.published} — wait for it to "
                                  "finish, or run again with --wait to wait for it") from None
            if not announced and self.on_wait:
                limit = "" if math.isinf(self.wait) else f" (up to {self.wait:g}s)"
                self.on_wait(f"Waiting for the segpipe run (pid {holder}) building {self.published.name} to finish{limit}…")
                announced = True
            time.sleep(min(WAIT_POLL, left))

    def __exit__(self, *exc) -> None:
        self.discard()
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove_leftovers(self) -> None:
        """Delete build files of runs that died (we hold the lock, so none is alive), and the
        folder DuckDB spills to beside one (`<build file>.tmp`), which a killed run leaves too."""
        for leftover in self.published.parent.glob(glob.escape(self.published.name) + ".building-*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)

    def start_from_published(self) -> bool:
        """Begin the build as a copy of the published file (for --select and incremental runs).
        The copy is a new file (O_EXCL, O_NOFOLLOW): never a link planted where it goes."""
        if not self.published.exists():
            return False
        with open(self.published, "rb") as source:
            target = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                _copy(source.fileno(), target)
            finally:
                os.close(target)
        return True

    def publish(self, before_rename=None) -> None:
        """fsync the finished build file and rename it over the published one; `before_rename()`
        hears when only the rename is left (the run stops listening to Ctrl-C then)."""
        wal = Path(str(self.path) + ".wal")
        if wal.exists():
            raise RunError(f"{self.path}: DuckDB left a write-ahead log after closing — not publishing an unfinished file")
        with open(self.path, "rb+") as handle:
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename()
        # the old file's write-ahead log, left by a read-write client that died (a BI tool, the
        # duckdb shell): DuckDB would replay it onto the new file for every reader
        Path(str(self.published) + ".wal").unlink(missing_ok=True)
        os.replace(self.path, self.published)
        dir_fd = os.open(self.published.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def discard(self) -> None:
        for path in (self.path, Path(str(self.path) + ".wal")):
            path.unlink(missing_ok=True)


def external_folders(published: Path) -> list[Path]:
    """The Parquet datasets `--engine spark` writes for `engine.external` models beside the
    published file: `<db>.<model>.<12 hex digits>/`."""
    folders = []
    for folder in published.parent.glob(glob.escape(published.name) + ".*.*"):
        tail = folder.name[len(published.name) + 1:]
        run_id = tail.rsplit(".", 1)[1]
        if len(run_id) == 12 and all(c in "0123456789abcdef" for c in run_id) and folder.is_dir() \
                and not folder.is_symlink():
            folders.append(folder)
    return folders


def read_by_published(published: Path) -> set[Path]:
    """The dataset folders the published file's views read: the last run's, which a BI tool
    holding that file open still reads after the next publish (SPEC §8), so they are removed
    by the run after it, not by the one that replaces the file."""
    folders = external_folders(published)
    if not folders or not published.exists():
        return set()
    import duckdb

    try:
        with duckdb.connect(str(published), read_only=True) as con:
            views = " ".join(sql or "" for (sql,) in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall())
    except duckdb.Error:  # unreadable: keep them all rather than fail a finished build, or delete one in use
        return set(folders)
    return {folder for folder in folders if folder.name in views}


def remove_external_folders(published: Path, keep: set[Path]) -> None:
    """Delete the datasets of earlier runs, and of killed ones, but those in `keep`."""
    for folder in external_folders(published):
        if folder not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _copy(source: int, target: int) -> None:
    """Copy one open file into another in the kernel (sendfile), as shutil.copyfile does."""
    size, offset = os.fstat(source).st_size, 0
    while offset < size:
        sent = os.sendfile(target, source, offset, size - offset)
        if sent == 0:
            break
        offset += sent
