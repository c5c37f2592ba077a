"""Reading a published file that `segpipe run` replaces under us.

`segpipe run` publishes by renaming a new file over the old one. Two DuckDB
behaviours shape how serve reads it:

- DuckDB caches database instances by path, so `duckdb.connect(path,
  read_only=True)` can hand back the OLD file's data while any connection to
  that path is open (duckdb issue #15912);
- a connection must not be used by two threads at once; each thread needs its
  own cursor.

So each published file becomes a `Snapshot`: a private in-memory DuckDB with the
file ATTACHed READ_ONLY (an in-memory database is never shared by path), read
through one cursor per request thread. `Snapshots.current()` compares the
path's identity (device, inode, mtime, size: a rename gives a new inode) with
the snapshot's on every request — one `stat`, so a publish is seen by the very
next request — and on a change attaches the new file and makes it current.
Requests in flight hold their snapshot (a reference count) and finish on it; the
old one is closed when its last request ends. Nothing here writes or locks the
path, so serve never makes `segpipe run` fail or wait.

A token limited to some workspaces reads through `Snapshot.cursor(scope)`: a
catalog of views that show only those workspaces' rows (tenancy.py builds it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..contract import RUN_INFO
from ..errors import NoPublishedFileError, first_line
from ..sql import quote_ident, quote_str
from .tenancy import Scope, create_scoped_views

log = logging.getLogger("segpipe.serve")

PUBLISHED = "published"  # the catalog name of the attached file inside a snapshot
#: seconds a file that could not be attached is left alone before trying again: a process
#: holding it open read-write (the duckdb CLI's default) locks it without changing its
#: identity, so without a retry the old run would be served until the next publish
RETRY_FAILED = 0.5


@dataclass(frozen=True)
class FileIdentity:
    """What changes when `segpipe run` renames a new file into place."""

    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> "FileIdentity | None":
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    @property
    def tag(self) -> str:
        """A short token naming this published file (for ETags): a digest, as the file's size
        would tell every tenant how much data all of them have."""
        return hashlib.blake2b(repr((self.device, self.inode, self.mtime_ns, self.size)).encode(),
                               digest_size=8).hexdigest()


class Answers:
    """Answers already computed on one snapshot, most recently used kept: a published file
    never changes, so they stay right until the snapshot is replaced (and dropped with it)."""

    def __init__(self, capacity: int = 256, largest: int = 256 * 1024):
        self.capacity, self.largest = capacity, largest
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> None:
        if len(body) > self.largest:
            return
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class Snapshot:
    """One published file, attached read-only in its own in-memory DuckDB."""

    def __init__(self, path: Path, identity: FileIdentity):
        self.identity = identity
        self._con = duckdb.connect()
        try:
            self._con.execute(f"ATTACH {quote_str(str(path))} AS {PUBLISHED} (READ_ONLY)")
        except duckdb.Error as exc:
            self._con.close()
            raise NoPublishedFileError(f"cannot open {path}: {first_line(exc)}") from None
        self.published_at = self._built_at()
        self.answers = Answers()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._scopes: set[Scope] = set()
        self._users = 0
        self._retired = False
        self._closed = False

    def _built_at(self) -> str | None:
        try:
            row = self._con.execute(f"SELECT max(built_at) FROM {PUBLISHED}.{RUN_INFO}").fetchone()
        except duckdb.Error:
            return None
        built = row[0] if row else None
        return built.replace(tzinfo=None).isoformat(timespec="seconds") + "Z" if isinstance(built, dt.datetime) else None

    def cursor(self, scope: Scope | None = None) -> duckdb.DuckDBPyConnection:
        """This thread's cursor, reading the whole file or only `scope`'s rows."""
        cursors = self._local.__dict__.setdefault("by_scope", {})
        cursor = cursors.get(scope)
        if cursor is None:
            with self._lock:
                if scope is not None and scope not in self._scopes:
                    create_scoped_views(self._con, PUBLISHED, scope)
                    self._scopes.add(scope)
                cursor = self._con.cursor()
                self._cursors.append(cursor)
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.execute(f"USE {quote_ident(scope.catalog if scope else PUBLISHED)}")
            cursors[scope] = cursor
        return cursor

    def acquire(self) -> bool:
        """Count one more request reading this snapshot; False once it is closed."""
        with self._lock:
            if self._closed:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._retired and self._users == 0:
                self._close()

    def retire(self) -> None:
        """No new request will use this snapshot; close it once the last one ends."""
        with self._lock:
            self._retired = True
            if self._users == 0:
                self._close()

    def _close(self) -> None:
        self._closed = True
        for cursor in self._cursors:
            cursor.close()
        self._cursors.clear()
        self._con.close()


class Snapshots:
    """The current snapshot of one published path, swapped when a run replaces the file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._current: Snapshot | None = None
        self._failed: tuple[FileIdentity, float] | None = None  # a file that failed to attach, and when
        self._swap = threading.Lock()

    @contextmanager
    def reading(self):
        """The current snapshot, held for the duration of one request."""
        snapshot = self._latest()
        while not snapshot.acquire():  # swapped out and closed since we looked: look again
            snapshot = self._latest()
        try:
            yield snapshot
        finally:
            snapshot.release()

    def refresh(self) -> None:
        """Attach the file at the path now if it is not the current snapshot."""
        self._latest()

    def _latest(self) -> Snapshot:
        identity = FileIdentity.of(self.path)
        current = self._current
        if current is not None and (identity == current.identity or identity is None or self._failing(identity)):
            return current  # a file that vanished or cannot be opened: keep serving the last good one
        with self._swap:
            current = self._current
            if current is not None and current.identity == identity:
                return current
            if identity is None:
                raise NoPublishedFileError(f"no published database at {self.path} — run `segpipe run` first")
            try:
                fresh = self._open(identity)
            except NoPublishedFileError as exc:
                if current is None:
                    raise
                if self._failed is None or self._failed[0] != identity:
                    log.error("keeping the published file served so far: %s", exc)
                self._failed = (identity, time.monotonic())
                return current
            self._current, self._failed = fresh, None
            log.info("serving %s published at %s", self.path, fresh.published_at)
        if current is not None:
            current.retire()
        return fresh

    def _failing(self, identity: FileIdentity) -> bool:
        """Whether `identity` failed to attach less than RETRY_FAILED seconds ago."""
        failed = self._failed
        return failed is not None and failed[0] == identity and time.monotonic() - failed[1] < RETRY_FAILED

    def _open(self, identity: FileIdentity) -> Snapshot:
        """Attach the file, making sure the file attached is the one `identity` describes
        (a run may rename another file into place between the stat and the ATTACH)."""
        for _ in range(5):
            snapshot = Snapshot(self.path, identity)
            now = FileIdentity.of(self.path)
            if now == identity:
                return snapshot
            snapshot.retire()
            if now is None:
                break
            identity = now
        raise NoPublishedFileError(f"{self.path} keeps changing while being opened — try again")

    def close(self) -> None:
        with self._swap:
            if self._current is not None:
                self._current.retire()
                self._current = None
