"""A throwaway PostgreSQL server for the test session (helper, not a test file).

Runs the real server binaries (Debian's `postgresql` package): initdb into a
temp folder with trust auth, start on a free loopback port, create database
`segpipe`, and hand out a libpq URL. initdb refuses to run as root, so as root
the server runs as an unprivileged user (`segpipe-test`, created if missing,
else `nobody`). SQL goes through DuckDB's postgres extension (loaded offline
by segpipe.extensions), so the tests need no psycopg.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

SUPERUSER = "segpipe"
DATABASE = "segpipe"
SERVICE_USER = "segpipe-test"


class ServerUnavailable(Exception):
    """The server cannot be started here; the message says why (one line)."""


def find_pg_bin() -> Path | None:
    """Folder holding initdb/pg_ctl/postgres: PATH first, then the newest
    /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        folder = Path(found).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    folders = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    folders = [f for f in folders if (f / "pg_ctl").exists()]
    if not folders:
        return None
    return max(folders, key=lambda f: [int(x) for x in re.findall(r"\d+", f.parent.name)] or [0])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(text: str, lines: int = 5) -> str:
    rows = [r.strip() for r in text.strip().splitlines() if r.strip()]
    return " | ".join(rows[-lines:]) or "(no output)"


def _service_user() -> str:
    """An unprivileged account to run the server as (we are root)."""
    try:
        pwd.getpwnam(SERVICE_USER)
        return SERVICE_USER
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    try:
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True, capture_output=True, timeout=30,
        )
        return SERVICE_USER
    except (OSError, subprocess.SubprocessError):
        try:
            pwd.getpwnam("nobody")
            return "nobody"
        except KeyError:
            raise ServerUnavailable(
                "running as root and cannot create an unprivileged user for initdb"
            ) from None


class PostgresServer:
    """One PostgreSQL cluster in a temp folder. start() -> DSN; stop() removes it."""

    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_pg_bin()
        self.tmp: Path | None = None
        self.port: int | None = None
        self.user: str | None = None  # OS user running the server (None = us)
        self.dsn: str | None = None
        self.start_seconds = self.stop_seconds = 0.0

    # -- running binaries ----------------------------------------------------
    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / tool), *args]
        if self.user:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            cmd = [runuser, "-u", self.user, "--", *cmd] if os.path.exists(runuser) else \
                ["su", "-s", "/bin/sh", self.user, "-c", " ".join(_sh_quote(c) for c in cmd)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        # Output to a file, not a pipe: the postmaster must never hold our pipe open.
        with tempfile.TemporaryFile() as out:
            proc = subprocess.run(cmd, cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
            out.seek(0)
            proc.stdout = out.read().decode(errors="replace")
        return proc

    def _log_tail(self) -> str:
        try:
            return _tail((self.tmp / "server.log").read_text(errors="replace"))
        except OSError:
            return "(no server log)"

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> str:
        if self.bin_dir is None:
            raise ServerUnavailable(
                "PostgreSQL server not installed: no initdb on PATH or in "
                "/usr/lib/postgresql/*/bin (apt-get install postgresql)"
            )
        t0 = time.monotonic()
        self.user = _service_user() if os.geteuid() == 0 else None
        # /tmp rather than $TMPDIR: the server user must be able to reach the folder.
        self.tmp = Path(tempfile.mkdtemp(prefix="segpipe-pg-", dir="/tmp" if self.user else None))
        if self.user:
            shutil.chown(self.tmp, self.user, pwd.getpwnam(self.user).pw_gid)
        try:
            init = self._run("initdb", "-D", str(self.tmp / "data"), "-A", "trust",
                             "-U", SUPERUSER, "--no-sync", "--locale=C", "-E", "UTF8",
                             timeout=120)
            if init.returncode != 0:
                raise ServerUnavailable(f"initdb failed: {_tail(init.stdout)}")
            for attempt in range(3):  # the free port may be taken before we bind it
                self.port = _free_port()
                opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                        f"-c unix_socket_directories={self.tmp} -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off")
                started = self._run("pg_ctl", "-D", str(self.tmp / "data"), "-l",
                                    str(self.tmp / "server.log"), "-o", opts,
                                    "-w", "-t", "60", "start", timeout=90)
                if started.returncode == 0:
                    break
                if "could not bind" not in self._log_tail() or attempt == 2:
                    raise ServerUnavailable(
                        f"pg_ctl start failed: {_tail(started.stdout, 2)}; log: {self._log_tail()}")
            base = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}"
            pg_execute(f"{base}/postgres", f"CREATE DATABASE {DATABASE}", transaction=False)
            self.dsn = f"{base}/{DATABASE}"
        except (OSError, subprocess.SubprocessError) as exc:
            self.stop()
            raise ServerUnavailable(f"cannot run the server binaries in {self.bin_dir}: {exc}") from None
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self.dsn

    def stop(self) -> None:
        if self.tmp is None:
            return
        t0 = time.monotonic()
        data = self.tmp / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
            except (OSError, subprocess.SubprocessError):
                pass
            _kill_postmaster(data)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None
        self.stop_seconds = time.monotonic() - t0


def _kill_postmaster(data: Path) -> None:
    """Last resort when pg_ctl stop did not work: SIGQUIT the postmaster."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


# -- running SQL through DuckDB's postgres extension ----------------------------
def connect(dsn: str, alias: str = "pg") -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the postgres scanner loaded (offline) and `dsn`
    attached as `alias`."""
    from segpipe.extensions import load_extension

    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    load_extension(con, "postgres")
    con.execute(f"ATTACH '{dsn}' AS {alias} (TYPE postgres)")
    return con


def pg_execute(dsn: str, sql: str, transaction: bool = True) -> None:
    """Run PostgreSQL-dialect SQL (DDL/DML, several statements allowed) on the
    server; transaction=False for statements such as CREATE DATABASE."""
    con = connect(dsn)
    try:
        con.execute("CALL postgres_execute('pg', ?, use_transaction := ?)", [sql, transaction])
    finally:
        con.close()


def pg_query(dsn: str, sql: str) -> list[tuple]:
    """Run a PostgreSQL-dialect SELECT on the server and return its rows."""
    con = connect(dsn)
    try:
        return con.execute("SELECT * FROM postgres_query('pg', ?)", [sql]).fetchall()
    finally:
        con.close()
