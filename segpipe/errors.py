"""One exception hierarchy. Every message names the file, model or key at fault
and, where it can, what would fix it; the CLI prints it as one line."""

import errno
import os


class SegpipeError(Exception):
    """Root of every error segpipe reports to a user (never a traceback)."""

    exit_code = 2

    def __str__(self) -> str:
        return single_line(super().__str__())


def single_line(message: str) -> str:
    """A message as one line, whatever a user's value brought in: a name, option or query
    parameter holding a line break shows it as \\n (one stderr line, one HTTP `detail`)."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(SegpipeError):
    """Bad project.yml, segments file, source or command-line value (exit 2)."""


class UnknownSegmentError(ConfigError):
    """No segment has the id or name asked for (exit 2; HTTP 404)."""


class NoPublishedFileError(ConfigError):
    """The published file is missing, unreadable or predates what a command reads (exit 2; HTTP 503)."""


class CompileError(SegpipeError):
    """A model cannot be rendered: Jinja syntax, unknown ref, cycle, undefined var."""


class SeedError(SegpipeError):
    """A seed or source file is malformed or a value fails its declared type."""


class RunError(SegpipeError):
    """A model failed to build in DuckDB (exit 1)."""

    exit_code = 1


class DataTestError(SegpipeError):
    """One or more data tests failed, so nothing was published (exit 1)."""

    exit_code = 1


class LockedError(SegpipeError):
    """Another `segpipe run` holds the project's lock: try again later (exit 75, EX_TEMPFAIL)."""

    exit_code = 75


class DiskFullError(SegpipeError):
    """The disk filled up during a run; the published file is unchanged (exit 1)."""

    exit_code = 1


class InterruptedRun(KeyboardInterrupt):
    """Ctrl-C (exit 130) or SIGTERM (exit 143) stopped a run; the published file is unchanged.
    A KeyboardInterrupt, so no `except Exception` on the way out swallows it."""

    def __init__(self, signum: int):
        super().__init__("interrupted")
        self.exit_code = 128 + signum


def disk_full(exc: BaseException, folder) -> DiskFullError | None:
    """The one-line error for an exception caused by a full disk (an OSError, or DuckDB
    failing to write), naming the folder written to; None for any other exception."""
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if not (full or any(text in str(exc) for text in ("No space left on device", "Disk quota exceeded"))):
        return None
    if isinstance(exc, OSError) and exc.filename:
        folder = os.path.dirname(os.path.abspath(exc.filename))
    return DiskFullError(f"the disk is full: no space left in {folder} — the published database was not changed; "
                         "free some space and run again")


#: an OSError naming a path the user gave that cannot be used as it is: a configuration error
#: (exit 2) like a bad project.yml, not a bug (a folder or an unreadable file as a seed, say)
UNUSABLE_PATH = (errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENOENT, errno.ELOOP)


def first_line(exc: BaseException) -> str:
    """An error's message as one line: DuckDB's first two lines (kind, then detail), joined."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def debugging() -> bool:
    """`--debug` or SEGPIPE_DEBUG: show tracebacks instead of one-line errors."""
    return os.environ.get("SEGPIPE_DEBUG", "") not in ("", "0")


def one_line(exc: BaseException) -> tuple[str, int]:
    """The `Error: …` line and exit code a command reports for an exception it caught.

    Shared by the typer commands and the fast `segpipe top` and `segpipe run`
    (segpipe/entry.py) so both report alike: a SegpipeError's message and code,
    130 for Ctrl-C (143 for a run stopped by SIGTERM), a full disk as one line, and the first line of anything else (a bug or an unforeseen
    DuckDB error), exit 1. A reader that stopped reading (`segpipe leads X | head`)
    is no error: no line, exit 141 as if killed by SIGPIPE, and stdout goes to
    /dev/null so Python's final flush does not fail again.
    """
    if isinstance(exc, BrokenPipeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return "", 141
    if isinstance(exc, ImportError) and isinstance(exc.__cause__, KeyboardInterrupt):
        exc = exc.__cause__  # Ctrl-C while duckdb's extension module initialised: "initialization failed"
    if isinstance(exc, KeyboardInterrupt):
        return "Error: interrupted — the published database was not changed", getattr(exc, "exit_code", 130)
    if isinstance(exc, SegpipeError):
        return f"Error: {exc}", exc.exit_code
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, OSError) and exc.errno in UNUSABLE_PATH and exc.filename:
        return f"Error: cannot use {exc.filename}: {exc.strerror} — fix the path or its permissions", 2
    if type(exc).__name__ == "IOException" and "Permission denied" in first:  # DuckDB's, for a file it opens
        return f"Error: {first} — give segpipe permission to write in that folder", 2
    return f"Error: unexpected {type(exc).__name__}: {first} — rerun as `segpipe --debug …` for the traceback", 1
