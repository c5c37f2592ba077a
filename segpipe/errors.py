"""One exception hierarchy. Every message names the file, model or key at fault
and, where it can, what would fix it; the CLI prints it as one line."""


class SegpipeError(Exception):
    """Root of every error segpipe reports to a user (never a traceback)."""

    exit_code = 2


class ConfigError(SegpipeError):
    """Bad project.yml, segments file, source or command-line value (exit 2)."""


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
    """Another `segpipe run` holds the project's lock (exit 1)."""

    exit_code = 1
